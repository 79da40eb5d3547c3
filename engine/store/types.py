"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, String
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


# Region codes compare byte by byte on every backend: a range of codes ("19.01." up to
# "19.01/") selects a region's descendants through an index, and a linguistic collation
# (a PostgreSQL server initialised in en_US, say) ignores the dots it relies on.
RegionCode = String(16).with_variant(String(16, collation="C"), "postgresql")
