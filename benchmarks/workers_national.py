"""Three `aksi worker` processes through a national year beside one: every notice fired
once, every e-mail owed sent once, and the wall time of each.

    python benchmarks/workers_national.py [--url URL] [--workers 3] [--kecamatan 1]

(Needs the test extras, `pip install -e '.[test]'`: aiosmtpd is the SMTP server on
loopback, time-machine travels the workers' clocks.)

A national year (every province, no desa level) is started on 1 December, with people
who have e-mail addresses: every kab/kota's operator (every message) and supervisor
(daily digest), every province's approver (every message) and operator (digest), and
the operator of ``--kecamatan`` kecamatan per kab/kota (every message). Then N worker
processes run the jobs `aksi worker` runs (engine/cli/clock.py `worker_jobs`: the tick
and e-mail) at every moment the definitions set in each time zone (each reminder,
escalation and opening), their clocks travelled there together (they meet before each
moment; at a moment they race), then on the mornings after until nothing is left to
send. The same is done again on a fresh database with one worker. Printed for each:
notices fired and the e-mails the SMTP server got, beside what the definitions and the
people make due; duplicates and missing ones (both must be 0: it exits 1 otherwise);
jobs that raised; the wall time from the first moment to the last; and the ratio of the
two wall times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import re
import socket
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from email.parser import BytesHeaderParser

from sqlalchemy import func, or_, select

from _setup import definitions, fresh_database, url_from_env
from engine.clock.deadlines import due_at, opens_at
from engine.people import add_user, set_email
from engine.runtime.notices import fire_moment, rules
from engine.runtime.years import start_year
from engine.store.models import EmailDelivery, Event, Notice, Region, Task, User

UTC = dt.timezone.utc
YEAR = 2026
BEFORE_YEAR = dt.datetime(YEAR - 1, 12, 1, tzinfo=UTC)
SENDER = "Aksi Konvergensi <aksi@kab.example.go.id>"
MAX_DRAIN = 30  # mornings after the year's last moment, at most


# --- The SMTP server: aiosmtpd on loopback, keeping each message's Message-ID ------------

class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        mid = BytesHeaderParser().parsebytes(envelope.content)["Message-ID"]
        with self.lock:
            self.ids.append(str(mid))
        return "250 OK"


def smtp_server():
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # a free port (aiosmtpd needs one named)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, recorder


# --- The workers ---------------------------------------------------------------------

def work_the_year(url: str, environ: dict, moments: list[str], drain_from: str, ready,
                  barrier, results) -> None:
    """One worker: `worker_jobs` at each moment (on threads, as APScheduler runs them),
    the clock travelled there; then each morning from ``drain_from`` while anything is
    left to do (decided by every worker alike, between two meetings). Mornings, not
    minutes: an item queued after its user's digest of the day waits for the next day.
    A job that raises is counted and the worker goes on, as APScheduler logs it and runs
    the job again at its next time (on SQLite a writer may wait out its busy timeout
    while the others take the lock in turn)."""
    import traceback
    from concurrent.futures import ThreadPoolExecutor

    import time_machine

    os.environ.update(environ)
    try:
        from engine.cli.clock import worker_jobs
        from engine.store import Database

        db = Database(url)
        jobs = worker_jobs(db)
        assert [name for name, _ in jobs] == ["tick", "email"], jobs
        with ThreadPoolExecutor(len(jobs)) as pool:
            errors: Counter = Counter()

            def work(moment: dt.datetime) -> None:
                with time_machine.travel(moment, tick=False):
                    for (name, _), done in [(job, pool.submit(job[1])) for job in jobs]:
                        if (error := done.exception()) is not None:
                            errors[f"{name}: {type(error).__name__}: {error}"[:200]] += 1

            ready.wait(timeout=600)
            for iso in moments:
                barrier.wait(timeout=1800)
                work(dt.datetime.fromisoformat(iso))
            drained = 0
            start = dt.datetime.fromisoformat(drain_from)
            while True:
                barrier.wait(timeout=1800)  # every pass done: the same answer for all
                left = unsent(db)
                barrier.wait(timeout=1800)
                if not left or drained >= MAX_DRAIN:
                    break
                work(start + dt.timedelta(days=drained))
                drained += 1
        db.dispose()
        results.put(("ok", (drained, errors)))
    except BaseException:  # noqa: BLE001 - reported, and the run fails
        barrier.abort()
        results.put(("error", traceback.format_exc()))


def unsent(db) -> int:
    """Notices not fired, e-mail rows still to go, events the e-mail cursor has not
    queued."""
    from engine.mail.outbox import CONSUMER
    from engine.outbox import cursors

    with db.session() as s:
        waiting = s.scalar(select(func.count()).select_from(EmailDelivery).where(
            EmailDelivery.status.in_(["pending", "held"])))
        last = s.scalar(select(func.max(Event.id)))
        pending = s.scalar(select(func.count()).select_from(Notice).where(
            Notice.status == "pending"))
        return pending + waiting + (cursors(s).get(CONSUMER, 0) < (last or 0))


# --- Set-up and what is due ------------------------------------------------------------

def people(session, kecamatan: int) -> list[tuple[str, str, str, str, str]]:
    """(username, role, region, address, preference) of the people with addresses."""
    tiers = dict(session.execute(select(Region.code, Region.tier)).all())
    out = []
    for code, tier in sorted(tiers.items()):
        if tier == 1:
            out += [(f"approver-{code}", "approver", code, "each"),
                    (f"operator-{code}", "operator", code, "digest")]
        elif tier == 2:
            out += [(f"operator-{code}", "operator", code, "each"),
                    (f"supervisor-{code}", "supervisor", code, "digest")]
            below = sorted(c for c, t in tiers.items() if t == 3 and c.startswith(code + "."))
            out += [(f"operator-{c}", "operator", c, "each") for c in below[:kecamatan]]
    return [(u, role, code, f"{u}@example.go.id", pref) for u, role, code, pref in out]


def prepare(url: str | None, defs, kecamatan: int, province: str | None):
    db = fresh_database(url, province=province)
    with db.session() as s:
        report = start_year(s, defs, YEAR, province=province, now=BEFORE_YEAR)
        who = people(s, kecamatan)
        for username, role, region, address, pref in who:
            add_user(s, defs, username, role=role, region=region, now=BEFORE_YEAR,
                     actor="benchmark")
            set_email(s, username, email=address, pref=pref, now=BEFORE_YEAR,
                      actor="benchmark")
        zones = set(s.scalars(select(Region.timezone).distinct()))
    return db, report, who, zones


def cycle_moments(defs, zones: set[str]) -> list[dt.datetime]:
    """Every moment the definitions set in ``zones``: each notice, each opening."""
    moments = set()
    for d in defs:
        for stage in d.stages:
            for zone in zones:
                due = due_at(stage.due, YEAR, zone, stage.roll)
                moments |= {fire_moment(kind, days, due) for kind, _, days in rules(stage)}
                moments.add(opens_at(stage.opens, YEAR, zone))
    return sorted(moments)


def notices_due(session, defs) -> int:
    """Every rule of every task: nobody acts, so every notice is due."""
    per_stage = session.execute(select(Task.level, Task.stage, func.count())
                                .group_by(Task.level, Task.stage)).all()
    return sum(n * len(rules(defs[level].stage(stage))) for level, stage, n in per_stage)


def check(db, defs, who, received: list[str]) -> dict:
    """What was due and what happened: notices, e-mails, duplicates, missing."""
    with db.session() as s:
        due = notices_due(s, defs)
        fired = s.execute(select(Event.id, Event.payload).where(
            Event.kind.in_(["reminder", "escalation"]))).all()
        notice_rows = dict(s.execute(select(Notice.status, func.count())
                                     .group_by(Notice.status)).all())
        ids = dict(s.execute(select(User.username, User.id)).all())
        digests = s.execute(select(EmailDelivery.id, EmailDelivery.user_id, EmailDelivery.day)
                            .where(EmailDelivery.kind == "digest")).all()
        items = s.execute(select(EmailDelivery.digest_id, EmailDelivery.user_id,
                                 EmailDelivery.event_id)
                          .where(EmailDelivery.kind == "item")).all()
        dead = s.scalar(select(func.count()).select_from(EmailDelivery).where(or_(
            EmailDelivery.status == "dead", EmailDelivery.attempts > 1)))
    per_notice = Counter(p["notice"] for _, p in fired)

    holders = defaultdict(list)
    for username, role, region, _, pref in who:
        holders[(role, region)].append((ids[username], pref))
    owed_messages, owed_items = set(), set()
    for event, payload in fired:
        told = {h for r in payload["recipients"]
                for h in holders.get((r["role"], r["region"]), ())}
        for user, pref in told:
            (owed_messages if pref == "each" else owed_items).add((event, user))

    single = re.compile(r"<aksi\.e(\d+)\.u(\d+)@")
    digest = re.compile(r"<aksi\.ringkasan-(\d{8})\.u(\d+)\.e")
    got_messages = Counter((int(m[1]), int(m[2])) for m in map(single.match, received) if m)
    got_digests = Counter((int(m[2]), m[1]) for m in map(digest.match, received) if m)
    digest_key = {d.id: (d.user_id, f"{d.day:%Y%m%d}") for d in digests}
    carried = Counter((i.event_id, i.user_id) for i in items
                      if digest_key.get(i.digest_id) in got_digests)
    return {
        "notices_due": due,
        "notices_fired": len(per_notice),
        "notice_duplicates": sum(n - 1 for n in per_notice.values()),
        "notices_missing": due - len(per_notice),
        "notices_not_fired": sum(n for status, n in notice_rows.items() if status != "fired"),
        "emails_sent": len(received),
        "messages_owed": len(owed_messages),
        "digest_items_owed": len(owed_items),
        "digests_sent": sum(got_digests.values()),
        "email_duplicates": sum(n - 1 for n in Counter(received).values()),
        "emails_missing": len(owed_messages - set(got_messages)) + len(owed_items - set(carried)),
        "emails_unexpected": len(set(got_messages) - owed_messages),
        "dead_or_retried": dead,
    }


def run(url: str | None, defs, workers: int, kecamatan: int,
        province: str | None) -> tuple[dict, float, dict]:
    db, report, who, zones = prepare(url, defs, kecamatan, province)
    url = db.url
    moments = cycle_moments(defs, zones)
    drain_from = dt.datetime.combine(max(moments).date() + dt.timedelta(days=2), dt.time(1),
                                     UTC)
    controller, recorder = smtp_server()
    hooks = os.path.join(tempfile.mkdtemp(prefix="aksi-bench-"), "webhooks.yaml")
    with open(hooks, "w", encoding="utf-8") as f:
        f.write("subscriptions: []\n")  # e-mail only: no webhook job
    environ = {"AKSI_SMTP_HOST": "127.0.0.1", "AKSI_SMTP_PORT": str(controller.port),
               "AKSI_SMTP_SECURITY": "none", "AKSI_SMTP_FROM": SENDER,
               "AKSI_BASE_URL": "https://aksi.example.go.id", "AKSI_SMTP_TIMEOUT": "20",
               "AKSI_WEBHOOKS": hooks}
    ctx = multiprocessing.get_context("spawn")
    ready, barrier, results = ctx.Barrier(workers + 1), ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=work_the_year,
                         args=(url, environ, [m.isoformat() for m in moments],
                               drain_from.isoformat(), ready, barrier, results))
             for _ in range(workers)]
    for p in procs:
        p.start()
    try:
        ready.wait(timeout=600)
        start = time.perf_counter()
        done = [results.get(timeout=3600) for _ in procs]
        wall = time.perf_counter() - start
    finally:
        for p in procs:
            p.join(timeout=60)
        controller.stop()
    failed = [text for kind, text in done if kind != "ok"]
    if failed:
        sys.exit("a worker failed:\n" + "\n".join(failed))
    figures = check(db, defs, who, recorder.ids)
    figures["moments"], figures["drained"] = len(moments), max(n for _, (n, _) in done)
    figures["job_errors"] = sum((e for _, (_, e) in done), Counter())
    db.dispose()
    return figures, wall, {"cases": sum(report.cases.values()), "tasks": report.tasks,
                           "people": len(who), "zones": len(zones)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", "--db", dest="url", default=url_from_env(),
                    help="a scratch database (it is wiped); default a temporary SQLite file")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--kecamatan", type=int, default=1,
                    help="kecamatan per kab/kota whose operator gets every message")
    ap.add_argument("--province", help="one province instead of the whole country (a trial)")
    args = ap.parse_args()
    defs = definitions(lifecycle=True)
    rows = []
    for n in (args.workers, 1):
        figures, wall, size = run(args.url, defs, n, args.kecamatan, args.province)
        rows.append((n, figures, wall))
    backend = "PostgreSQL" if (args.url or "").startswith("postgres") else "SQLite"
    print(f"{backend}; {'province ' + args.province if args.province else 'national'} "
          f"year: {size['cases']:,} cases, {size['tasks']:,} stages, "
          f"{size['people']:,} people with an address, {size['zones']} time zones; "
          f"{os.cpu_count()} cores")
    for n, f, wall in rows:
        print(f"{n} worker{'s' if n > 1 else ' '}: {f['moments']} moments and "
              f"{f['drained']} mornings after in {wall:6.1f} s; "
              f"notices fired {f['notices_fired']:,} of {f['notices_due']:,} due "
              f"(duplicates {f['notice_duplicates']}, missing {f['notices_missing']}, "
              f"not fired {f['notices_not_fired']}); "
              f"e-mails sent {f['emails_sent']:,} ({f['messages_owed']:,} messages owed, "
              f"{f['digests_sent']:,} digests carrying {f['digest_items_owed']:,} items owed; "
              f"duplicates {f['email_duplicates']}, missing {f['emails_missing']}, "
              f"unexpected {f['emails_unexpected']}, dead or retried {f['dead_or_retried']}); "
              f"jobs that raised (run again at the next moment): "
              f"{sum(f['job_errors'].values())}")
        for error, count in f["job_errors"].most_common():
            print(f"    {count} x {error}")
    (many, _, many_s), (_, _, one_s) = rows
    print(f"{many} workers' wall time beside 1 worker's: {many_s / one_s:.2f}x "
          f"({one_s / many_s:.2f}x the speed)")
    wrong = ("notice_duplicates", "notices_missing", "email_duplicates", "emails_missing",
             "emails_unexpected")
    if any(f[k] for _, f, _ in rows for k in wrong):
        sys.exit("not exactly once: see the duplicates and missing above")


if __name__ == "__main__":
    main()
