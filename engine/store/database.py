"""Connecting to the store: SQLite by default, PostgreSQL for many processes.

Two kinds of transaction, one way to open each:

- ``db.session()`` may write. SQLite begins it ``BEGIN IMMEDIATE``: it takes the write
  lock first, so writers queue on the lock (busy_timeout) instead of failing half-way
  with "database is locked" (SQLITE_BUSY) when they upgrade a read snapshot to a write
  that another writer got to first - a deferred writer cannot wait for that one, since
  its snapshot would then be stale.
- ``db.read()`` only reads: a deferred ``BEGIN`` on SQLite, which in WAL mode reads a
  snapshot without taking the write lock, so pages answer while a year start or an import
  holds it. It never writes: SQLite runs it under ``PRAGMA query_only``, PostgreSQL as a
  ``READ ONLY`` transaction, so a write in it fails on both instead of upgrading; it is
  rolled back at the end. A request that may write (or reads to decide a write) uses
  ``session()`` for all of it.

A SQLite session runs on a connection its thread keeps: checking a connection out
of the pool and back in cost about as much as a whole click's statements. A session
opened while the thread's connection is already in a transaction gets its own
connection from the pool, as every PostgreSQL session does.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from .. import environment
from . import counts

ENV_VAR = environment.DATABASE_URL
DEFAULT_URL = "sqlite:///aksi.db"


def default_url() -> str:
    return os.environ.get(ENV_VAR) or DEFAULT_URL


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3 for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # On the driver directly: this runs at the start of every transaction.
        reading = conn.get_execution_options().get(_READ, False)
        conn.connection.dbapi_connection.execute("BEGIN" if reading else "BEGIN IMMEDIATE")


_READ = "aksi_read"  # execution option: this connection's transactions are Database.read()s
# Said first in a read: SQLite's lasts until undone (at its end), PostgreSQL's for the transaction.
_READ_ONLY = {"sqlite": "PRAGMA query_only=ON", "postgresql": "SET TRANSACTION READ ONLY"}


class Database:
    """An engine and its session factory. Holds no application state."""

    def __init__(self, url: str | None = None, *, echo: bool = False):
        self.url = normalise_url(url or default_url())
        kwargs: dict = {"echo": echo}
        if self.url.startswith("sqlite"):
            _ensure_sqlite_dir(self.url)
            # Threads keep their connections (see session()): the pool must not run out
            # because many threads, even idle ones, each hold one.
            kwargs.update(connect_args={"timeout": 30}, max_overflow=-1)
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(self.url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            _sqlite_setup(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._local = threading.local()  # SQLite: this thread's connection (a _Kept)
        self._kept: weakref.WeakSet[_Kept] = weakref.WeakSet()  # for dispose()

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session that may write, in one transaction: committed on success, rolled back
        on error (SQLite: ``BEGIN IMMEDIATE``, see above)."""
        conn = self._thread_connection()
        if conn is None:
            with self.sessions() as session, session.begin():
                yield session
            return
        # The session joins the connection's transaction; committing it is ours.
        with conn.begin(), Session(bind=conn, expire_on_commit=False,
                                   join_transaction_mode="rollback_only") as session:
            yield session
            counts.flush(session)
            session.flush()

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session that only reads, in one transaction rolled back at the end.

        On SQLite it does not wait for (nor hold up) a writer; writing in it raises.
        """
        kept = self._thread_connection()
        conn = kept if kept is not None else self.engine.connect()
        conn.execution_options(**{_READ: True})
        transaction = conn.begin()
        try:
            conn.exec_driver_sql(_READ_ONLY[self.engine.dialect.name])
            with Session(bind=conn, expire_on_commit=False,
                         join_transaction_mode="rollback_only") as session:
                yield session
        finally:
            transaction.rollback()
            conn.execution_options(**{_READ: False})
            if self.engine.dialect.name == "sqlite" and not conn.invalidated:
                # On the driver: through `conn` it would begin another transaction.
                conn.connection.dbapi_connection.execute("PRAGMA query_only=OFF")
            if kept is None:
                conn.close()

    def _thread_connection(self) -> Connection | None:
        """SQLite: the connection this thread keeps, if it is free (None: use the pool)."""
        if self.engine.dialect.name != "sqlite":
            return None
        kept = getattr(self._local, "kept", None)
        if kept is not None and kept.usable():
            return None if kept.conn.in_transaction() else kept.conn
        kept = self._local.kept = _Kept(self.engine.connect())
        self._kept.add(kept)
        return kept.conn

    def upgrade(self, revision: str = "head") -> None:
        from .migrate import upgrade

        upgrade(self, revision)

    def dispose(self) -> None:
        for kept in list(self._kept):
            kept.close()
        self._local = threading.local()
        self.engine.dispose()


class _Kept:
    """A connection a thread keeps: closed when the thread ends, or by ``dispose()``."""

    def __init__(self, conn: Connection):
        self.conn, self.pid = conn, os.getpid()

    def usable(self) -> bool:
        # A forked child never uses (nor closes) its parent's connection.
        return self.pid == os.getpid() and not self.conn.closed and not self.conn.invalidated

    def close(self) -> None:
        if self.pid == os.getpid():
            with contextlib.suppress(Exception):  # another thread's, or already gone
                self.conn.close()

    def __del__(self) -> None:
        self.close()


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1] if "///" in url else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
