"""E-mail of reminders, escalations and nudges to a real SMTP server on loopback: each
message once, to the inbox's own readers, as each user chose; digests once a day."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
import time_machine
from sqlalchemy import func, select

from engine.mail import enqueue, list_deliveries, retry, run_once
from engine.mail.worker import MAX_ENQUEUE_ROUNDS
from engine.people import actor
from engine.runtime.nudges import nudge
from engine.store.models import EmailDelivery, Event
from engine.worker.tick import tick

from .support import (BASE_URL, KEC, REMINDER_AT, UTC, addressed_events, add_people,
                      settings_for, start_province, user_id)

PEOPLE = [
    ("ani", "operator", KEC, "ani@puskesmas.example.go.id", "each"),
    ("budi", "verifikator", KEC, "budi@kec.example.go.id", "digest"),
    ("citra", "operator", KEC, "citra@kec.example.go.id", "none"),
    ("dedi", "operator", KEC, None, None),  # no address: nothing
    ("eka", "supervisor", "19.01", "eka@kab.example.go.id", "each"),
    ("fajar", "operator", "19.01.02", "fajar@kec2.example.go.id", "each"),
]


@pytest.fixture
def province(db, defs):
    start_province(db, defs)
    add_people(db, defs, PEOPLE)
    return db


def _event_of(message_id: str) -> int:
    return int(re.fullmatch(r"<aksi\.e(\d+)\.u\d+@kab\.example\.go\.id>", message_id).group(1))


def _to(smtp, address):
    return [r for r in smtp.received if r.rcpt == [address]]


def test_each_message_once_to_the_inbox_readers_with_the_event_in_its_message_id(
        province, smtp, settings):
    db = province
    with time_machine.travel(REMINDER_AT, tick=False):
        tick(db)
        report = run_once(db, settings)
        again = run_once(db, settings)  # nothing new: nothing sent twice
    ani = addressed_events(db, "operator", KEC)
    fajar = addressed_events(db, "operator", "19.01.02")
    assert ani and fajar and not set(ani) & set(fajar)
    got_ani = _to(smtp, "ani@puskesmas.example.go.id")
    assert sorted(_event_of(r.message_id) for r in got_ani) == ani
    assert sorted(_event_of(r.message_id) for r in _to(smtp, "fajar@kec2.example.go.id")) == fajar
    assert len(set(smtp.ids())) == len(smtp.ids())  # no message twice
    # citra chose none, dedi has no address, budi's wait for the digest (before 07:00?
    # no: 08:00 local, so budi's digest went at once), eka is not addressed by a reminder.
    assert not _to(smtp, "citra@kec.example.go.id") and not _to(smtp, "eka@kab.example.go.id")
    assert {a for r in smtp.received for a in r.rcpt} <= {
        "ani@puskesmas.example.go.id", "fajar@kec2.example.go.id", "budi@kec.example.go.id"}
    assert report.delivered == len(smtp.received) and again.delivered == 0
    assert f"u{user_id(db, 'ani')}@" in got_ani[0].message_id

    # The message: multipart/alternative, plain and HTML, in Bahasa Indonesia, linking the stage.
    msg = got_ani[0].message
    assert msg.get_content_type() == "multipart/alternative"
    plain, html = (part.get_payload(decode=True).decode() for part in msg.get_payload())
    assert msg.get_payload()[0].get_content_type() == "text/plain"
    assert msg.get_payload()[1].get_content_type() == "text/html"
    assert msg["Subject"].startswith("[Aksi] Pengingat: ")
    assert "Yth. ani" in plain and "Pengingat:" in plain and "hari lagi" in plain
    stage = re.search(rf"{BASE_URL}/tugas/2026/{KEC}/(\w+)", plain)
    assert stage and f'href="{stage.group(0)}"' in html
    assert f"{BASE_URL}/pengaturan/surel" in plain


def test_digest_once_a_local_day_with_everything_since_the_last(province, smtp, settings):
    db = province
    budi = "budi@kec.example.go.id"
    early = dt.datetime(2026, 1, 7, 23, 30, tzinfo=UTC)  # 8 January 06:30 WIB
    with time_machine.travel(early, tick=False):
        tick(db)
        run_once(db, settings)
    assert not _to(smtp, budi)  # nothing held yet
    with time_machine.travel(REMINDER_AT, tick=False):  # 08:00 WIB: reminders fire
        tick(db)
        first = run_once(db, settings)
        run_once(db, settings)
    assert first.digests == 1
    digests = _to(smtp, budi)
    assert len(digests) == 1
    held_first = addressed_events(db, "verifikator", KEC)
    assert held_first
    plain = digests[0].message.get_payload()[0].get_payload(decode=True).decode()
    assert f"{len(held_first)} pemberitahuan" in plain
    assert digests[0].message["Message-ID"].startswith(
        f"<aksi.ringkasan-20260108.u{user_id(db, 'budi')}.e{held_first[0]}-{held_first[-1]}@")

    # Later that day: new reminders wait for tomorrow's digest.
    later = dt.datetime(2026, 1, 14, 1, 0, tzinfo=UTC)  # 14 January 08:00 WIB: 1-day reminders
    with time_machine.travel(later - dt.timedelta(hours=2), tick=False):  # 06:00 WIB
        tick(db)
        run_once(db, settings)
    assert len(_to(smtp, budi)) == 1
    with time_machine.travel(later, tick=False):
        tick(db)
        run_once(db, settings)
        run_once(db, settings)
    digests = _to(smtp, budi)
    assert len(digests) == 2
    new = sorted(set(addressed_events(db, "verifikator", KEC)) - set(held_first))
    assert new
    assert digests[1].message["Message-ID"].startswith(
        f"<aksi.ringkasan-20260114.u{user_id(db, 'budi')}.e{new[0]}-{new[-1]}@")
    budi_id = user_id(db, "budi")
    with db.session() as s:
        rows = s.scalars(select(EmailDelivery).where(EmailDelivery.user_id == budi_id)).all()
    assert sorted(r.event_id for r in rows if r.kind == "item") == sorted(held_first + new)
    assert {r.status for r in rows if r.kind == "item"} == {"digested"}


def test_nudge_and_escalation_are_mailed_to_those_the_inbox_addresses(province, smtp,
                                                                      settings, defs):
    db = province
    late = dt.datetime(2026, 1, 20, 3, 0, tzinfo=UTC)  # analisis_situasi due 15 January
    with time_machine.travel(late, tick=False):
        tick(db)  # fires the reminders missed and the 3-day escalation
        with db.session() as s:
            nudged = nudge(s, actor(s, "eka"), region=KEC, stage="analisis_situasi",
                           year=2026, now=late)
        run_once(db, settings)
    assert nudged.recipients
    eka = _to(smtp, "eka@kab.example.go.id")
    escalated = addressed_events(db, "supervisor", "19.01", kinds=("escalation",))
    assert escalated and sorted(_event_of(r.message_id) for r in eka) == escalated
    assert all(r.message["Subject"].startswith("[Aksi] Eskalasi: ") for r in eka)
    ani = _to(smtp, "ani@puskesmas.example.go.id")
    nudges = [r for r in ani if r.message["Subject"].startswith("[Aksi] Ingatkan: ")]
    assert len(nudges) == 1
    plain = nudges[0].message.get_payload()[0].get_payload(decode=True).decode()
    assert "Pengingat dari eka" in plain


def test_two_workers_at_once_send_each_message_once(province, smtp, settings):
    db = province
    with time_machine.travel(REMINDER_AT, tick=False):
        tick(db)
        barrier = threading.Barrier(2)
        errors = []

        def work():
            try:
                barrier.wait()
                for _ in range(30):
                    run_once(db, settings, limit=2)
            except Exception as exc:  # reported below
                errors.append(exc)

        workers = [threading.Thread(target=work) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert not errors
    ids = smtp.ids()
    assert len(ids) == len(set(ids))
    expected = len(addressed_events(db, "operator", KEC)) + len(
        addressed_events(db, "operator", "19.01.02")) + 1  # + budi's digest
    assert len(ids) == expected
    with db.session() as s:
        statuses = {r.status for r in list_deliveries(s, limit=None) if r.kind != "item"}
    assert statuses == {"delivered"}


def test_refused_mail_backs_off_then_dies_and_retry_sends_it(province, smtp, defs):
    db = province
    broken = settings_for(smtp.port)
    from dataclasses import replace

    from engine.mail.delivery import MAX_ATTEMPTS

    from .support import free_port

    nowhere = replace(broken, port=free_port())  # nothing listens there
    with time_machine.travel(REMINDER_AT, tick=False):
        tick(db)
        with db.session() as s:
            batch = enqueue(s)
    assert batch.queued and batch.events
    moment = REMINDER_AT
    for _ in range(MAX_ATTEMPTS):
        run_once(db, nowhere, moment)
        moment += dt.timedelta(hours=2)  # past any backoff (capped at one hour)
    with db.session() as s:
        rows = [r for r in list_deliveries(s, limit=None) if r.kind != "item"]
        assert {r.status for r in rows} == {"dead"}
        assert all(r.attempts == MAX_ATTEMPTS and r.last_error for r in rows)
        revived = retry(s, now=moment)
    assert sorted(revived) == sorted(r.id for r in rows)
    run_once(db, broken, moment)
    assert {r.kind for r in rows} == {"message", "digest"}  # budi's digest too
    assert len(smtp.ids()) == len(rows)


def test_a_return_lands_in_the_inbox_and_is_mailed_to_those_it_now_waits_for(
        province, smtp, settings):
    from engine.runtime import act_on
    from engine.runtime.inbox import inbox_for

    db = province
    moment = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)  # before any reminder
    with time_machine.travel(moment, tick=False):
        tick(db)  # opens the stages of 1 January
        with db.session() as s:
            act_on(s, KEC, "analisis_situasi", 2026, "submit", "ani", data={}, now=moment)
        with db.session() as s:
            act_on(s, KEC, "analisis_situasi", 2026, "return", "budi",
                   reason="data balita desa Ăž belum lengkap", now=moment)
        with db.session() as s:
            items = inbox_for(s, actor(s, "ani"))
        run_once(db, settings)
    assert [i["kind"] for i in items] == ["sent_back"]
    assert "belum lengkap" in items[0]["message"]
    returned = addressed_events(db, "operator", KEC, kinds=("return",))  # the action's event
    assert len(returned) == 1
    got = _to(smtp, "ani@puskesmas.example.go.id")
    assert [_event_of(r.message_id) for r in got] == returned
    assert got[0].message["Subject"].startswith("[Aksi] Dikembalikan: ")
    plain = got[0].message.get_payload()[0].get_payload(decode=True).decode()
    assert "Kembalikan oleh budi" in plain and "data balita desa Ăž belum lengkap" in plain
    assert len(smtp.received) == 1  # budi, who returned it, is not waited for


def test_one_run_queues_past_batches_of_events_that_mail_nobody(province, smtp, settings):
    """The year start's and the openings' events e-mail nobody: a run goes on past them,
    batch after batch, to the reminders (it once stopped at the first batch that queued
    fewer e-mails than the batch had events, and a national year start's 38,000 events
    held e-mail back for 38 runs)."""
    db = province
    batch = 10
    with time_machine.travel(REMINDER_AT, tick=False):
        tick(db)
        with db.session() as s:
            events = s.scalar(select(func.count()).select_from(Event))
        report = run_once(db, settings, enqueue_limit=batch)
    assert batch * 5 < events < batch * MAX_ENQUEUE_ROUNDS
    owed = addressed_events(db, "operator", KEC) + addressed_events(db, "operator", "19.01.02")
    assert owed
    assert report.delivered == len(owed) + 1  # + budi's digest
    assert len(smtp.ids()) == len(set(smtp.ids())) == len(owed) + 1


def test_a_cursor_held_back_ends_the_run_instead_of_taking_the_same_events_again(
        db, settings, monkeypatch):
    """On PostgreSQL a running transaction holds the e-mail cursor back; events past it
    that e-mail nobody come back batch after batch. The run stops at the first repeat
    (it would take the same batch 50 times). On SQLite, where no writer runs beside
    another, the run goes through every batch."""
    from engine.mail import worker
    from engine.store import events

    calls = []

    def counted(session, **kw):
        calls.append(kw["limit"])
        return enqueue(session, **kw)

    monkeypatch.setattr(worker, "enqueue", counted)
    slow = None
    if db.is_postgresql:
        slow = db.engine.connect()
        slow_tx = slow.begin()  # drew a transaction id: events may still commit below
        slow.execute(Event.__table__.insert(), dict(at=REMINDER_AT, kind="open", actor="x"))
    try:
        with db.session() as s:
            for _ in range(35):
                events.record(s, "open", actor="x", at=REMINDER_AT, region_code=KEC)
        report = run_once(db, settings, REMINDER_AT, enqueue_limit=10)
    finally:
        if slow is not None:
            slow_tx.rollback()
            slow.close()
    assert report.queued == 0
    assert len(calls) == (2 if db.is_postgresql else 4)


def test_whether_an_event_is_queued_is_looked_up_by_index(province, settings):
    """The enqueue scan asks, for each event past the cursor, whether it has e-mail rows
    already: an index lookup. (It was a scan of every row per event: with a national
    year's 96,000 rows, 3.3 s a batch under SQLite's write lock, so other workers waited
    out their busy timeout, and one whose outcomes could not be written sent again.)"""
    from sqlalchemy import event, inspect

    db = province
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM events" in statement and "email_deliveries" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with time_machine.travel(REMINDER_AT, tick=False):
            tick(db)
            run_once(db, settings)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert seen
    indexes = inspect(db.engine).get_indexes("email_deliveries")
    assert any(ix["column_names"][0] == "event_id" for ix in indexes)
    if db.is_postgresql:
        return  # its planner scans tables this small whatever the indexes
    raw = db.engine.raw_connection()
    try:
        for statement, parameters in seen:
            plan = [row[3] for row in raw.cursor().execute(
                f"EXPLAIN QUERY PLAN {statement}", parameters)]
            assert not [step for step in plan if step.startswith("SCAN email_deliveries")], plan
    finally:
        raw.close()


def test_outcomes_refused_once_by_the_database_are_written_again_not_sent_again(
        province, smtp, settings, monkeypatch):
    """The database refuses the first write of what was sent (as SQLite's busy timeout
    would): the outcomes are written on a second try, so nothing waits for its lease to run
    out and goes again."""
    from sqlalchemy.exc import OperationalError

    from engine.outbox import queue

    real = queue.record
    refused = []

    def record_once_refused(*args, **kwargs):
        if not refused:
            refused.append(True)
            raise OperationalError("UPDATE email_deliveries", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(queue, "record", record_once_refused)
    monkeypatch.setattr(queue, "RECORD_PAUSES", (0.01, None), raising=False)
    db = province
    with time_machine.travel(REMINDER_AT, tick=False):
        tick(db)
        try:
            run_once(db, settings)
        except OperationalError:  # what a worker's job did before outcomes were retried
            pass
        sent = len(smtp.received)
    later = REMINDER_AT + dt.timedelta(hours=2)  # every lease long gone
    with time_machine.travel(later, tick=False):
        run_once(db, settings, later)
    assert refused and sent > 0
    assert len(smtp.received) == sent and len(set(smtp.ids())) == sent  # nothing went again
    with db.session() as s:
        statuses = {r.status for r in list_deliveries(s, limit=None)}
    assert statuses and not statuses & {"pending", "dead"}
