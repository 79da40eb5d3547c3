"""Three `aksi worker` processes through a whole year of a province: every reminder and
escalation fires once, at its moment; every e-mail the outbox owes goes once (a real
SMTP server on loopback), each digest user's items in exactly one digest a day; every
event is POSTed to a webhook once; nothing is dead. On SQLite and PostgreSQL.

The workers run the jobs `aksi worker` composes (engine/cli/clock.py `worker_jobs`) with
their clock travelled (time_machine, as the other clock and e-mail tests pin it) through
every moment the definitions set: each reminder and escalation, each stage opening, then
a morning after the last to send the last digests. They meet before each moment, as
workers whose clocks move on together do; at a moment they race. What is due comes from
the definitions and the people added here, not from what the workers did.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import re
import threading
from collections import Counter, defaultdict

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, or_, select

from engine.clock.deadlines import due_at, opens_at
from engine.regions import load_regions
from engine.runtime import start_year
from engine.runtime.notices import fire_moment, rules
from engine.store.models import EmailDelivery, Event, Notice, Region, Task

from .support import (BEFORE_YEAR, SENDER, UTC, YEAR, add_people, environment, user_id,
                      work_the_year)

WORKERS = 3
DOMAIN = SENDER.rpartition("@")[2].rstrip(">")
KECAMATAN = [f"19.01.0{i}" for i in range(1, 9)]  # Kabupaten Bangka's eight
HOOKED = "19.01"  # the region the webhook subscription takes

# (username, role, region, address or None, preference or None). Every role a notice
# addresses, on each tier, in every e-mail preference; one person with two roles that the
# same notices address (one e-mail per event for them, not one per role).
PEOPLE = (
    [(f"op{i}", "operator", code, f"op{i}@kec{i}.example.go.id", "each")
     for i, code in enumerate(KECAMATAN)]
    + [(f"ver{i}", "verifikator", code, f"ver{i}@kec{i}.example.go.id", "digest")
       for i, code in enumerate(KECAMATAN)]
    + [(f"camat{i}", "approver", code, f"camat{i}@kec{i}.example.go.id", "each")
       for i, code in enumerate(KECAMATAN[:4])]
    + [("camat4", "approver", KECAMATAN[4], "camat4@kec4.example.go.id", "none"),
       ("camat5", "approver", KECAMATAN[5], None, None),
       ("pengawas", "supervisor", "19.01", "pengawas@kab.example.go.id", "digest"),
       ("opkab", "operator", "19.01", "opkab@kab.example.go.id", "each"),
       ("verkab", "verifikator", "19.01", "verkab@kab.example.go.id", "digest"),
       ("pimpinan", "approver", "19.01", "pimpinan@kab.example.go.id", "each"),
       ("pimpinan", "sekda", "19.01", None, None),
       ("opprov", "operator", "19", "opprov@prov.example.go.id", "digest"),
       ("gubernur", "approver", "19", "gubernur@prov.example.go.id", "each"),
       ("pengawasprov", "supervisor", "19", "pengawasprov@prov.example.go.id", "each")]
)
SECRET = "rahasia-webhook-tahunan"


class Hooks:
    """A webhook receiver: the Idempotency-Key of every request it got."""

    def __init__(self):
        self.lock = threading.Lock()
        self.keys: list[str] = []

    def __call__(self, request):
        from werkzeug import Response

        with self.lock:
            self.keys.append(request.headers["Idempotency-Key"])
        return Response("ok")


@pytest.fixture
def receiver():
    log = logging.getLogger("werkzeug")
    level = log.level
    log.setLevel(logging.WARNING)  # not a line per request
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    hooks = Hooks()
    server.expect_request("/hook", method="POST").respond_with_handler(hooks)
    yield server, hooks
    server.clear()
    if server.is_running():
        server.stop()
    log.setLevel(level)


def cycle_moments(defs, year: int, zones: set[str]) -> list[dt.datetime]:
    """Every moment the definitions set in ``zones``: each notice of each stage (nobody
    acts, so every one is due), each opening; then a morning two days after the last (a
    new local day everywhere, past the digest hour), a minute after it, and the next
    morning (for items queued after that day's digest went)."""
    moments = set()
    for d in defs:
        for stage in d.stages:
            for zone in zones:
                due = due_at(stage.due, year, zone, stage.roll)
                moments |= {fire_moment(kind, days, due) for kind, _, days in rules(stage)}
                moments.add(opens_at(stage.opens, year, zone))
    last = max(moments)
    morning = dt.datetime.combine(last.date() + dt.timedelta(days=2), dt.time(1), UTC)
    return sorted(moments) + [morning, morning + dt.timedelta(minutes=1),
                              morning + dt.timedelta(days=1)]


def _webhooks_file(tmp_path, url: str) -> str:
    path = tmp_path / "webhooks.yaml"
    path.write_text(f"""\
subscriptions:
  - name: pemantau
    url: {url}
    secret_env: AKSI_TEST_HOOK_SECRET
    events: ["*"]
    regions: ["{HOOKED}"]
""", encoding="utf-8")
    return str(path)


def _run_workers(url: str, environ: dict, moments: list[dt.datetime]) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    isos = [m.isoformat() for m in moments]
    procs = [ctx.Process(target=work_the_year, args=(url, environ, isos, barrier, results))
             for _ in range(WORKERS)]
    for p in procs:
        p.start()
    try:
        reports = [results.get(timeout=600) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    assert all(kind == "ok" for kind, _ in reports), "\n".join(text for _, text in reports)
    assert [p.exitcode for p in procs] == [0] * WORKERS


def _due_notices(session, defs) -> Counter:
    """(task, kind, rule) of every notice the definitions give the started tasks."""
    due = Counter()
    for task in session.scalars(select(Task)):
        stage = defs[task.level].stage(task.stage)
        due.update((task.id, kind, rule) for kind, rule, _ in rules(stage))
    return due


def _owed(events, people) -> tuple[set, dict]:
    """What the people must be told of ``events`` (id -> recipients): (event, user) of
    each message, and per digest user the events their digests must carry."""
    holders = defaultdict(set)  # (role, region) -> usernames
    for username, role, region, _, _ in people:
        holders[(role, region)].add(username)
    pref = {}
    for username, _, _, address, chosen in people:
        if address or chosen:
            pref[username] = (address, chosen)
    messages, digests = set(), defaultdict(set)
    for event, recipients in events.items():
        told = {u for r in recipients for u in holders[(r["role"], r["region"])]}
        for username in told:
            address, chosen = pref.get(username, (None, None))
            if not address or chosen == "none":
                continue
            if chosen == "digest":
                digests[username].add(event)
            else:
                messages.add((event, username))
    return messages, digests


def test_three_workers_through_a_year_fire_and_mail_everything_exactly_once(
        db, db_url, defs, smtp, receiver, tmp_path):
    server, hooks = receiver
    with db.session() as s:
        load_regions(s, "19", with_desa=False)
        start_year(s, defs, YEAR, province="19", now=BEFORE_YEAR)
        zones = set(s.scalars(select(Region.timezone).distinct()))
        due = _due_notices(s, defs)
    add_people(db, defs, PEOPLE)
    assert len(due) > 1000 and set(due.values()) == {1}
    moments = cycle_moments(defs, YEAR, zones)
    environ = {**environment(smtp.port), "AKSI_SMTP_TIMEOUT": "20",
               "AKSI_WEBHOOKS": _webhooks_file(tmp_path, server.url_for("/hook")),
               "AKSI_TEST_HOOK_SECRET": SECRET}

    _run_workers(db_url, environ, moments)

    with db.session() as s:
        notices = s.execute(select(Notice.id, Notice.task_id, Notice.kind, Notice.rule,
                                   Notice.status, Notice.fire_at, Notice.fired_at)).all()
        fired = s.execute(select(Event.id, Event.payload).where(
            Event.kind.in_(["reminder", "escalation"]))).all()
        hooked = set(s.scalars(select(Event.id).where(or_(
            Event.region_code == HOOKED, Event.region_code.startswith(HOOKED + ".")))))
        mail = s.execute(select(EmailDelivery.id, EmailDelivery.kind, EmailDelivery.user_id,
                                EmailDelivery.event_id, EmailDelivery.digest_id,
                                EmailDelivery.day, EmailDelivery.status,
                                EmailDelivery.attempts)).all()
        pending = s.scalar(select(func.count()).select_from(Task).where(Task.opens_pending))

    # Every notice the definitions give every task fired once, at its own moment.
    assert Counter((n.task_id, n.kind, n.rule) for n in notices) == due
    assert {n.status for n in notices} == {"fired"}
    assert all(n.fired_at == n.fire_at for n in notices)
    per_notice = Counter(p["notice"] for _, p in fired)
    assert len(fired) == len(notices) and set(per_notice.values()) == {1}
    assert pending == 0  # every stage's opening day was judged

    # E-mail: owed from the fired events and the people, not from what the workers queued.
    names = {u: user_id(db, u) for u in {p[0] for p in PEOPLE}}
    by_id = {v: k for k, v in names.items()}
    owed_messages, owed_digests = _owed({i: p["recipients"] for i, p in fired}, PEOPLE)
    assert len(owed_messages) > 200 and len(owed_digests) == 11
    assert {(r.kind, r.status) for r in mail} == {  # nothing pending, held or dead
        ("message", "delivered"), ("digest", "delivered"), ("item", "digested")}
    assert {r.attempts for r in mail if r.kind != "item"} == {1}  # no attempt failed
    queued = {(r.event_id, by_id[r.user_id]) for r in mail if r.kind == "message"}
    assert queued == owed_messages
    carried = defaultdict(list)  # digest id -> events
    for r in mail:
        if r.kind == "item":
            carried[r.digest_id].append(r.event_id)
    digests = [r for r in mail if r.kind == "digest"]
    assert len({(r.user_id, r.day) for r in digests}) == len(digests)  # one a day at most
    for username, events in owed_digests.items():
        theirs = [e for r in digests if r.user_id == names[username] for e in carried[r.id]]
        assert sorted(theirs) == sorted(events), username  # each item in exactly one digest
    assert all(carried[r.id] for r in digests)

    # What the SMTP server got: each e-mail once, the messages and digests the outbox owed.
    received = smtp.ids()
    assert not [m for m, n in Counter(received).items() if n > 1]  # no e-mail twice
    assert len(received) == len(owed_messages) + len(digests)
    single = re.compile(rf"<aksi\.e(\d+)\.u(\d+)@{re.escape(DOMAIN)}>")
    got = {(int(m[1]), by_id[int(m[2])]) for m in map(single.fullmatch, received) if m}
    assert got == owed_messages
    digest_id = re.compile(
        rf"<aksi\.ringkasan-(\d{{8}})\.u(\d+)\.e(\d+)-(\d+)@{re.escape(DOMAIN)}>")
    got_digests = {(int(m[2]), dt.datetime.strptime(m[1], "%Y%m%d").date(), int(m[3]),
                    int(m[4])) for m in map(digest_id.fullmatch, received) if m}
    assert got_digests == {(r.user_id, r.day, min(carried[r.id]), max(carried[r.id]))
                           for r in digests}

    # Webhooks: every event of the subscribed region, each POSTed once.
    assert not [k for k, n in Counter(hooks.keys).items() if n > 1]  # no event twice
    assert {int(k) for k in hooks.keys} == hooked and len(hooked) > 100
