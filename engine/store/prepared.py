"""Core statements run on the driver's own cursor: the statements of every click.

SQLAlchemy's execution layer costs some 50-80 µs per statement, several times what
SQLite needs for a primary-key read or write; on the path every action takes (four to
ten statements) that overhead alone kept the engine well below 3,000 transitions/s.

A `Prepared` statement is still written as a Core expression, in the module that uses
it. It is compiled once per dialect; its parameters and results pass through the
column types' own processors, so values look exactly as they do through SQLAlchemy
(aware UTC datetimes, JSON documents). It runs on the connection of the session's
current transaction, so it commits and rolls back with everything else.

Limits, checked when compiling: no expanding (``IN``) parameters, and every parameter
that has no value of its own in the statement must be passed by name.

Errors. A driver error is raised as SQLAlchemy raises it (``DBAPIError.instance``: an
``IntegrityError``, ``OperationalError``, ... wrapping the driver's), so code that catches
SQLAlchemy's exceptions sees the same ones whichever path a statement took.

Versions. Compiling reads SQLAlchemy's compiled-statement attributes (``positiontup``,
``binds``, ``bind_names``, ``effective_value``), which are not public API: pyproject.toml
pins the SQLAlchemy minor version the tests ran this module against
(tests/runtime/test_prepared.py).
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable, Insert


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    # (name, fixed value or _GIVEN, bind processor or None), in the order the driver wants
    binds: tuple[tuple[str, Any, Callable | None], ...]
    row: Any  # namedtuple class of the result columns (None: no rows)
    results: tuple[Callable | None, ...]
    converts: bool  # any result processor at all


_GIVEN = object()  # marks a parameter the caller passes


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    if isinstance(statement, Insert) and not statement.returning_column_descriptions:
        # No "RETURNING id" (PostgreSQL's default): nothing here reads generated keys back.
        statement = statement.inline()
    compiled = statement.compile(dialect=dialect)
    positional = compiled.positiontup is not None
    names = (list(compiled.positiontup) if positional
             else list(dict.fromkeys(compiled.bind_names.values())))
    binds = []
    for name in names:
        param = compiled.binds[name]
        if param.expanding:
            raise TypeError(f"Prepared cannot run the expanding parameter {name!r}")
        processor = param.type.dialect_impl(dialect).bind_processor(dialect)
        if param.required:
            binds.append((name, _GIVEN, processor))
        else:  # a literal of the statement itself, such as the 1 of "version + 1"
            value = param.effective_value
            binds.append((name, processor(value) if processor else value, None))
    row, results = None, ()
    columns = getattr(statement, "selected_columns", None)
    if columns is not None and len(columns):
        row = namedtuple("Row", [c.key for c in columns], rename=True)
        results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None)
                        for c in columns)
    return _Compiled(compiled.string, positional, tuple(binds), row, results,
                     any(p is not None for p in results))


_KEY = "aksi.prepared.driver"


def _driver(session: Session) -> tuple[Dialect, Any]:
    """The dialect and DB-API connection of ``session``'s current transaction.

    Remembered per transaction in ``session.info``: asking the session for its
    connection costs more than the statements of a click themselves.
    """
    transaction = session.get_transaction()
    known = session.info.get(_KEY)
    if known is not None and transaction is not None and known[0] is transaction:
        return known[1], known[2]
    conn = session.connection()  # begins the transaction if none is under way
    dialect, driver = conn.dialect, conn.connection.driver_connection
    session.info[_KEY] = (session.get_transaction(), dialect, driver)
    return dialect, driver


def _translated(dialect: Dialect, sql: str, values: Any, exc: Exception, *,
                many: bool) -> BaseException:
    """The driver's ``exc`` as SQLAlchemy would raise it (parameters hidden: they may hold
    personal data, and messages reach logs)."""
    return DBAPIError.instance(sql, values, exc, dialect.loaded_dbapi.Error,
                               hide_parameters=True, dialect=dialect, ismulti=many)


class Prepared:
    """One Core statement, compiled once per dialect, executed on the DB-API cursor."""

    def __init__(self, statement: Executable):
        self.statement = statement
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Compiled] = (
            weakref.WeakKeyDictionary())
        self._last: tuple[Dialect, _Compiled] | None = None  # a process has one dialect

    def _compiled(self, dialect: Dialect) -> _Compiled:
        last = self._last
        if last is not None and last[0] is dialect:
            return last[1]
        compiled = self._by_dialect.get(dialect)
        if compiled is None:
            compiled = self._by_dialect.setdefault(dialect, _compile(self.statement, dialect))
        self._last = (dialect, compiled)
        return compiled

    @staticmethod
    def _values(compiled: _Compiled, params: dict[str, Any]) -> list | dict:
        values = []
        for name, value, processor in compiled.binds:
            if value is _GIVEN:
                value = params[name]
                if processor is not None:
                    value = processor(value)
            values.append(value)
        if compiled.positional:
            return values
        return {name: v for (name, _, _), v in zip(compiled.binds, values)}

    def _execute(self, session: Session, params: dict[str, Any]):
        dialect, driver = _driver(session)
        compiled = self._compiled(dialect)
        cursor = driver.cursor()
        values = self._values(compiled, params)
        try:
            cursor.execute(compiled.sql, values)
        except dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise _translated(dialect, compiled.sql, values, exc, many=False) from exc
        return compiled, cursor

    def write_many(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Run an INSERT (or UPDATE) once per row of parameters, in one driver call."""
        if not rows:
            return
        dialect, driver = _driver(session)
        compiled = self._compiled(dialect)
        cursor = driver.cursor()
        values = [self._values(compiled, row) for row in rows]
        try:
            cursor.executemany(compiled.sql, values)
        except dialect.loaded_dbapi.Error as exc:
            raise _translated(dialect, compiled.sql, values, exc, many=True) from exc
        finally:
            cursor.close()

    def write(self, session: Session, **params: Any) -> int:
        """Run an INSERT, UPDATE or DELETE; the number of rows it matched."""
        _, cursor = self._execute(session, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def rows(self, session: Session, **params: Any) -> list[Any]:
        """Run a SELECT; its rows as named tuples, values as the column types give them."""
        compiled, cursor = self._execute(session, params)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        make = compiled.row._make
        if not compiled.converts:
            return [make(r) for r in fetched]
        procs = compiled.results
        return [make([p(v) if p else v for p, v in zip(procs, r)]) for r in fetched]

    def first(self, session: Session, **params: Any) -> Any | None:
        """The first row, or None."""
        found = self.rows(session, **params)
        return found[0] if found else None
