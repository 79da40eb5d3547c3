"""Selecting the rows of a batch of ids (year start's thousands of new cases at a time)."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import and_


def among(column, ids: Sequence[int]):
    """SQL for "``column`` is one of ``ids``", with their range beside the list.

    The range is what keeps SQLite on the index led by ``column``: with a list of
    thousands of literals alone, and statistics from a smaller table (last year's, or
    before a desa level was added), its planner may prefer scanning another index of the
    whole table, once per batch, which makes a large year start quadratic.
    """
    return and_(column.between(min(ids), max(ids)), column.in_(ids))
