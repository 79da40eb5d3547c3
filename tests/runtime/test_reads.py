"""`Database.read()`: a read-only transaction that, on SQLite, does not wait for the
write lock (`Database.session()` takes it with BEGIN IMMEDIATE), on every backend."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError

from engine.store.models import Region

WAIT = 60  # seconds a thread waits for the other before the test fails (never reached)


def regions_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Region))


def add_region(session, code: str) -> None:
    session.execute(insert(Region).values(code=code, name=f"Wilayah {code}", tier=1,
                                          parent_code=None, timezone="Asia/Jakarta"))


def test_a_read_answers_while_a_writer_holds_the_lock(db):
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            with db.session() as s:
                add_region(s, "11")
                s.flush()
                holding.set()
                assert release.wait(WAIT)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
            holding.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(WAIT)
        with db.read() as s:  # on SQLite a BEGIN IMMEDIATE here would wait (and time out)
            seen = regions_count(s)
    finally:
        release.set()
        thread.join(WAIT)
    assert not failures
    assert seen == 0  # the writer had not committed
    with db.read() as s:
        assert regions_count(s) == 1


def test_a_read_refuses_to_write_and_leaves_the_connection_as_it_was(db):
    with pytest.raises(DBAPIError, match="(?i)read.only|readonly"):
        with db.read() as s:
            add_region(s, "11")
    with db.read() as s:
        assert regions_count(s) == 0
    with db.session() as s:  # the thread's connection writes again, IMMEDIATE
        add_region(s, "12")
    with db.read() as s:
        assert regions_count(s) == 1


def test_a_read_inside_a_write_of_the_same_thread(db):
    with db.session() as w:
        add_region(w, "11")
        w.flush()
        with db.read() as r:  # another connection: it sees what was committed only
            assert regions_count(r) == 0
    with db.read() as r:
        assert regions_count(r) == 1
