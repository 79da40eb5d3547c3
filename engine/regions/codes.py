"""Kemendagri region codes: "19" provinsi, "19.01" kab/kota, "19.01.03" kecamatan, "19.01.03.2001" desa."""

from __future__ import annotations

# What a region of each tier (a code's depth) is called, for people.
TIER_NAMES = {1: "Provinsi", 2: "Kabupaten/Kota", 3: "Kecamatan", 4: "Desa/Kelurahan"}


def tier_of(code: str) -> int:
    return code.count(".") + 1


def parent_of(code: str) -> str | None:
    return code.rsplit(".", 1)[0] if "." in code else None


def ancestors(code: str) -> list[str]:
    """Nearest first: "19.01.03" -> ["19.01", "19"]."""
    out = []
    while (code := parent_of(code)) is not None:  # type: ignore[assignment]
        out.append(code)
    return out


def is_within(code: str, area: str) -> bool:
    """True when ``code`` is ``area`` itself or lies below it."""
    return code == area or code.startswith(area + ".")


def within_clause(column, area: str):
    """SQL for "``column`` is ``area`` or lies below it", as a range an index on the column
    serves: every code below ``area`` starts with ``area + "."``, and sorts before
    ``area + "/"`` ("/" follows "." and precedes the digits). ``LIKE 'area.%'`` would scan
    on SQLite."""
    return (column == area) | ((column > area + ".") & (column < area + "/"))
