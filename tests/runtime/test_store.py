"""The store: migrations build the schema the models describe, on every backend."""

from __future__ import annotations

import datetime as dt
import gc
import threading

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from engine.store import Database
from engine.store.migrate import config, current, head, revisions
from engine.store.models import Base, Case, Region

TABLES = {"regions", "definitions", "cases", "tasks", "users", "assignments", "events"}


def test_fresh_database_has_no_revision(raw_db):
    assert head() is not None
    assert current(raw_db) is None
    assert not TABLES & set(sa.inspect(raw_db.engine).get_table_names())


def test_head_current_and_revisions_agree_with_alembic(db):
    """The start-up check reads the scripts and the version table itself: it must say what
    Alembic says, at head and at every older revision."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(config(db))
    assert head() == scripts.get_current_head()
    assert revisions() == {r.revision for r in scripts.walk_revisions()}
    older = sorted(revisions())[-3]
    command.downgrade(config(db), older)
    with db.engine.connect() as conn:
        assert current(db) == MigrationContext.configure(conn).get_current_revision() == older
    db.upgrade()
    assert current(db) == head()


def test_upgrade_creates_schema_at_head(db):
    assert current(db) == head()
    inspector = sa.inspect(db.engine)
    assert TABLES <= set(Base.metadata.tables)
    assert set(inspector.get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    task_indexes = {i["name"] for i in inspector.get_indexes("tasks")}
    assert {"ix_tasks_gate", "ix_tasks_due", "ix_tasks_region", "ix_tasks_waits_on"} <= task_indexes
    assert "waits_on" in {c["name"] for c in inspector.get_columns("tasks")}


def test_migrations_match_the_models(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_twice_is_harmless_and_downgrade_reverses(db):
    db.upgrade()
    assert current(db) == head()
    command.downgrade(config(db), "base")
    assert current(db) is None
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.upgrade()
    assert current(db) == head()
    assert TABLES <= set(sa.inspect(db.engine).get_table_names())


def test_sqlite_pragmas(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/p.db")
    try:
        db.upgrade()
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert current(db) == head()
    finally:
        db.dispose()


def test_foreign_keys_are_enforced(db):
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with pytest.raises(IntegrityError):
        with db.session() as s:
            s.add(Case(level="kecamatan", region_code="99.99.99", year=2026,
                       definition_hash="0" * 64, started_at=now))
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_datetimes_are_aware_utc_and_naive_ones_refused(db):
    with db.session() as s:
        s.add(Region(code="19", name="X", tier=1, parent_code=None, timezone="Asia/Jakarta"))
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with db.session() as s:
            s.add(Case(level="kecamatan", region_code="19", year=2026,
                       definition_hash="0" * 64, started_at=dt.datetime(2026, 1, 1)))


def _driver_id(session) -> int:
    return id(session.connection().connection.driver_connection)


def test_sqlite_sessions_of_one_thread_share_its_connection_and_threads_do_not(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/k.db")
    try:
        db.upgrade()
        with db.session() as s:
            first = _driver_id(s)
        with db.session() as s:
            assert _driver_id(s) == first
        seen = []

        def other_thread():
            with db.session() as s:
                seen.append(_driver_id(s))

        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        gc.collect()
        assert seen and seen[0] != first
        # The other thread's connection went back with its thread; ours is still out.
        assert db.engine.pool.checkedout() == 1
    finally:
        db.dispose()
    assert db.engine.pool.checkedout() == 0


def test_a_failed_session_changes_nothing_and_the_next_one_works(db):
    with pytest.raises(RuntimeError):
        with db.session() as s:
            s.add(Region(code="19", name="X", tier=1, parent_code=None, timezone="Asia/Jakarta"))
            s.flush()
            raise RuntimeError("refused half-way")
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Region)) == 0
        s.add(Region(code="19", name="X", tier=1, parent_code=None, timezone="Asia/Jakarta"))
    with db.session() as s:  # pending ORM changes were flushed and committed
        assert s.get(Region, "19").name == "X"


def test_many_threads_keeping_connections_do_not_exhaust_the_pool(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/many.db")
    threads, errors = 24, []
    barrier = threading.Barrier(threads, timeout=60)

    def work():
        try:
            with db.session() as s:
                s.execute(sa.text("SELECT 1"))
            barrier.wait()  # every thread alive, each keeping its connection
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()

    try:
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        db.dispose()
    assert errors == []
