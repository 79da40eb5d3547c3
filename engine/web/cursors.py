"""Opaque cursors of the API's lists: where the last page ended, as URL-safe text.

A cursor is the sort key of the last item shown (``encode``), read back by ``decode``
against the kinds it must have; anything else (not ours, edited, of another list) is a
`BadCursor`, which the API answers with 400.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

from .edge import PATTERNS

ID_MAX = 2 ** 31 - 1  # the store's integer keys


class BadCursor(ValueError):
    pass


def encode(*values: Any) -> str:
    shown = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(shown).encode()).decode().rstrip("=")


def _read(kind: str, value: Any) -> Any:
    if kind == "id" and type(value) is int and 0 <= value <= ID_MAX:
        return value
    if kind == "region" and isinstance(value, str) and PATTERNS["region"].fullmatch(value):
        return value
    if kind == "time" and isinstance(value, str) and len(value) <= 40:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise BadCursor(value) from None
        if moment.tzinfo is not None:
            return moment.astimezone(dt.timezone.utc)
    raise BadCursor(repr(value))


def decode(text: str, *kinds: str) -> tuple:
    """The values ``encode`` wrote, each of its kind (``id``, ``region``, ``time``)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,400}", text):
        raise BadCursor(text)
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        raise BadCursor(text) from None
    if not isinstance(values, list) or len(values) != len(kinds):
        raise BadCursor(text)
    return tuple(_read(kind, value) for kind, value in zip(kinds, values))
