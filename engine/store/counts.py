"""Progress counters: the changes of one transaction, gathered and written at its end.

What the counters mean and which changes add to them is runtime/counters.py's business;
this module only keeps a transaction's deltas in ``session.info`` and writes them as
one batch of upserts (``count = count + delta``) just before the transaction commits:
from ``Database.session`` and, for sessions committed some other way, from the
``before_commit`` event. A rollback drops them with the rest of the transaction.

Concurrency. A counter row is shared by every stage it counts, so on PostgreSQL two
transactions that move stages of one level, stage and deadline into one row both update
it, and the second waits for the first to commit. Three things keep that short and rare.
Written at the very end, in one sorted batch, the rows are held only for the commit
itself (at most the session's own pending ORM flush runs while they are held). A
transaction waiting for a counter row holds no counter row another one could want
before it (all are taken in one key order), so counters add no deadlock to those the
task locks may already have. And a provinsi's counters are split into ``shard`` rows by
kab/kota (runtime/counters.py): without it, eight processes acting on kecamatan of one
provinsi spent over half their server time queued on its rows (benchmarks/scale_out.py),
one commit after another. Readers sum the shards. SQLite serializes every write
transaction anyway.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Tuple

from sqlalchemy import bindparam, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import ProgressCount
from .prepared import Prepared

# (area, year, level, stage, state, due_at, late, week, shard)
Key = Tuple[str, int, str, str, str, dt.datetime, bool, int, int]
KEY_COLUMNS = ("area", "year", "level", "stage", "state", "due_at", "late", "week", "shard")
_PENDING = "aksi.progress.pending"
_TABLE = ProgressCount.__table__


def _upsert(insert) -> Prepared:
    statement = insert(_TABLE).values({c: bindparam(c) for c in (*KEY_COLUMNS, "count")})
    return Prepared(statement.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={"count": _TABLE.c["count"] + statement.excluded["count"]}))


_UPSERT = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def add(session: Session, changes: Iterable[tuple[Key, int]]) -> None:
    """Add ``(key, delta)`` pairs to what this transaction will write."""
    pending = session.info.setdefault(_PENDING, {})
    for key, delta in changes:
        pending[key] = pending.get(key, 0) + delta


def flush(session: Session) -> None:
    """Write the pending deltas (sorted, so every writer locks rows in one order)."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    rows = [dict(zip(KEY_COLUMNS, key), count=delta)
            for key, delta in sorted(pending.items()) if delta]
    if rows:
        _UPSERT[session.get_bind().dialect.name].write_many(session, rows)


def discard(session: Session, *_: object) -> None:
    session.info.pop(_PENDING, None)


event.listen(Session, "before_commit", flush)
event.listen(Session, "after_rollback", discard)
