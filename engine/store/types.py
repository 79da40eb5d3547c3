"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out.

    SQLite keeps no zone, so values are stored as naive UTC and given their
    zone back on the way out; naive input is refused rather than guessed at.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        if value.tzinfo is not dt.timezone.utc:
            value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class shifted(FunctionElement):
    """``column + seconds`` for a `UTCDateTime` column, on SQLite and PostgreSQL alike.

    SQLite keeps these datetimes as text ("2026-01-15 16:59:59.000000"): shift with
    strftime and keep the fraction, so the result compares correctly with stored values.
    """

    type = UTCDateTime()
    inherit_cache = True
    name = "shifted"


@compiles(shifted, "sqlite")
def _shifted_sqlite(element, compiler, **kw):
    column, seconds = list(element.clauses)
    col = compiler.process(column, **kw)
    return (f"(strftime('%Y-%m-%d %H:%M:%S', {col}, ({compiler.process(seconds, **kw)}) "
            f"|| ' seconds') || substr({col}, 20))")


@compiles(shifted, "postgresql")
def _shifted_postgresql(element, compiler, **kw):
    column, seconds = list(element.clauses)
    return (f"({compiler.process(column, **kw)} + make_interval("
            f"secs => {compiler.process(seconds, **kw)}))")
