"""store.prepared: statements on the driver give what SQLAlchemy's own execution gives."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import bindparam, insert, select, update

from engine.store.models import Event
from engine.store.prepared import Prepared

EVENTS = Event.__table__
AT = dt.datetime(2026, 3, 1, 16, 59, 59, 123456, tzinfo=dt.timezone.utc)
WITA = dt.timezone(dt.timedelta(hours=8))

_COLUMNS = ("at", "kind", "actor", "case_id", "task_id", "region_code", "level", "year",
            "stage", "from_state", "to_state", "payload")
INSERT = Prepared(insert(EVENTS).values({c: bindparam(c) for c in _COLUMNS}))
BY_KIND = Prepared(select(EVENTS).where(EVENTS.c.kind == bindparam("kind")).order_by(EVENTS.c.id))
RENAME = Prepared(update(EVENTS).where(EVENTS.c.kind == bindparam("old"))
                  .values(kind=bindparam("new"), year=EVENTS.c.year + 1))


def _event(**overrides):
    values = dict(at=AT, kind="submit", actor="operator@19.01", case_id=None, task_id=None,
                  region_code="19.01", level="kabkota", year=2026, stage="analisis",
                  from_state="ready", to_state="submitted",
                  payload={"reason": "Data desa belum lengkap", "forms": ["f1"], "n": 3})
    values.update(overrides)
    return values


def test_rows_read_back_as_sqlalchemy_reads_them(db):
    with db.session() as s:
        INSERT.write(s, **_event())
        INSERT.write(s, **_event(at=AT.astimezone(WITA), payload=None, stage=None))
    with db.session() as s:
        ours = BY_KIND.rows(s, kind="submit")
        theirs = s.connection().execute(select(EVENTS).where(EVENTS.c.kind == "submit")
                                        .order_by(EVENTS.c.id)).all()
    assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
    first, second = ours
    assert first.at == AT and first.at.tzinfo is dt.timezone.utc
    assert second.at == AT  # a WITA time is stored as the same instant
    assert first.payload == {"reason": "Data desa belum lengkap", "forms": ["f1"], "n": 3}
    assert second.payload is None and second.stage is None
    assert first._fields == tuple(c.key for c in EVENTS.columns)


def test_write_counts_matched_rows_and_keeps_literals(db):
    with db.session() as s:
        for _ in range(3):
            INSERT.write(s, **_event())
    with db.session() as s:
        assert RENAME.write(s, old="submit", new="verify") == 3
        assert RENAME.write(s, old="submit", new="verify") == 0
    with db.session() as s:
        assert [r.year for r in BY_KIND.rows(s, kind="verify")] == [2027] * 3
        assert BY_KIND.first(s, kind="submit") is None


def test_runs_in_the_session_transaction(db):
    with pytest.raises(RuntimeError):
        with db.session() as s:
            INSERT.write(s, **_event())
            assert BY_KIND.first(s, kind="submit") is not None  # seen inside
            raise RuntimeError("rolled back")
    with db.session() as s:
        assert BY_KIND.rows(s, kind="submit") == []


def test_naive_datetimes_are_refused_as_through_sqlalchemy(db):
    with pytest.raises(ValueError, match="naive"):
        with db.session() as s:
            INSERT.write(s, **_event(at=AT.replace(tzinfo=None)))


def test_missing_parameter_names_itself(db):
    with pytest.raises(KeyError, match="kind"):
        with db.session() as s:
            BY_KIND.rows(s)


def test_expanding_parameters_are_refused(db):
    stmt = Prepared(select(EVENTS).where(EVENTS.c.kind.in_(bindparam("kinds", expanding=True))))
    with pytest.raises(TypeError, match="kinds"):
        with db.session() as s:
            stmt.rows(s, kinds=["submit"])


def test_write_many_runs_once_per_row(db):
    with db.session() as s:
        INSERT.write_many(s, [_event(kind=k, year=y) for k, y in
                              (("submit", 2026), ("submit", 2027), ("verify", 2026))])
        INSERT.write_many(s, [])  # nothing to do
    with db.session() as s:
        assert [(r.kind, r.year, r.at) for r in BY_KIND.rows(s, kind="submit")] == [
            ("submit", 2026, AT), ("submit", 2027, AT)]
        assert BY_KIND.first(s, kind="verify").payload["n"] == 3


def test_driver_errors_arrive_as_sqlalchemy_raises_them(db):
    """A constraint broken on the driver path is SQLAlchemy's IntegrityError (wrapping the
    driver's), for one row and for many; SQLAlchemy's message leaves the parameters out (the
    database's own message may quote the failing row, as it does through SQLAlchemy)."""
    from sqlalchemy.exc import DBAPIError, IntegrityError

    with pytest.raises(IntegrityError) as one:
        with db.session() as s:
            INSERT.write(s, **_event(kind=None))  # kind is NOT NULL
    with pytest.raises(IntegrityError) as many:
        with db.session() as s:
            INSERT.write_many(s, [_event(), _event(kind=None)])
    for raised in (one.value, many.value):
        assert isinstance(raised, DBAPIError)
        assert isinstance(raised.orig, db.engine.dialect.loaded_dbapi.Error)
        assert "[parameters:" not in str(raised) and "parameters hidden" in str(raised)
    with db.session() as s:  # both rolled back
        assert BY_KIND.rows(s, kind="submit") == []


def test_task_rows_move_only_from_the_version_read(started):
    """The one optimistic-lock move (store/task_rows.py): a stale version matches nothing,
    raises Conflict and writes nothing; columns outside state, done_at and due_at are refused."""
    from types import SimpleNamespace

    from engine.errors import Conflict
    from engine.runtime import find_task
    from engine.store import task_rows

    with started.session() as s:
        task = find_task(s, "19.01.01", "analisis_situasi", 2026)
        stale = SimpleNamespace(id=task.id, version=task.version - 1,
                                region_code=task.region_code, stage=task.stage)
        before = (task.state, task.version)
    with pytest.raises(Conflict) as raised:
        with started.session() as s:
            task_rows.move(s, stale, state="approved", now=AT, conflict="berubah")
    assert raised.value.context == {"region": "19.01.01", "stage": "analisis_situasi"}
    with started.session() as s:
        task = find_task(s, "19.01.01", "analisis_situasi", 2026)
        assert (task.state, task.version) == before
        with pytest.raises(ValueError):
            task_rows.move(s, task, version=99, now=AT, conflict="-")
        task_rows.move(s, task, due_at=AT, now=AT, conflict="-")
    with started.session() as s:
        task = find_task(s, "19.01.01", "analisis_situasi", 2026)
        assert (task.due_at, task.version) == (AT, before[1] + 1)
