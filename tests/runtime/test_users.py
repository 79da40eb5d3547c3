"""Users: adding, importing (all or nothing), passwords, roles that fit the level."""

from __future__ import annotations

from pathlib import Path

import pytest
from lokal import wilayah
from sqlalchemy import func, select

from engine.errors import InvalidImport, NotFound, Refused
from engine.people import add_user, authenticate, get_user, import_users
from engine.store.models import Assignment, User

from .support import NOW

DESA = wilayah.list_wilayah("19.01.01")[0].code


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["username,role,region,password", *rows]) + "\n", encoding="utf-8")
    return path


def user_count(db) -> tuple[int, int]:
    with db.session() as s:
        return (s.scalar(select(func.count()).select_from(User)),
                s.scalar(select(func.count()).select_from(Assignment)))


def test_import_users_from_csv(regions, defs, tmp_path):
    path = write_csv(tmp_path / "users.csv", [
        "siti,operator,19.01.01,Gunung-Talang-7",
        "budi,verifikator,19.01.01,Danau-Singkarak-8",
        "siti,operator,19.01.02,",
        "rina,supervisor,19.01,Ngarai-Sianok-9",
    ])
    with regions.session() as s:
        report = import_users(s, defs, path)
    assert (report.users, report.assignments) == (3, 4)
    with regions.session() as s:
        siti = get_user(s, "siti")
        assert sorted((a.level, a.role, a.region_code) for a in siti.assignments) == [
            ("kecamatan", "operator", "19.01.01"), ("kecamatan", "operator", "19.01.02")]
        assert [(a.level, a.role) for a in get_user(s, "rina").assignments] == \
            [("kabkota", "supervisor")]
        assert authenticate(s, "siti", "Gunung-Talang-7").username == "siti"  # not cleared by row 3
    assert user_count(regions) == (3, 4)


def test_import_is_all_or_nothing_and_names_the_line(regions, defs, tmp_path):
    path = write_csv(tmp_path / "users.csv", [
        "siti,operator,19.01.01,Gunung-Talang-7",
        "budi,camat,19.01.01,Danau-Singkarak-8",      # line 3: no such role at kecamatan level
        "rina,operator,19.01.02,Ngarai-Sianok-9",
    ])
    with pytest.raises(InvalidImport) as info:
        with regions.session() as s:
            import_users(s, defs, path)
    assert [p for p in info.value.problems if p.startswith(f"{path}:3:")] and \
        "camat" in " ".join(info.value.problems)
    assert user_count(regions) == (0, 0)


def test_import_unknown_region_names_the_line(regions, defs, tmp_path):
    path = write_csv(tmp_path / "users.csv", ["a,operator,19.01.01,", "b,operator,19.01.01,",
                                              "c,operator,99.01.01,"])
    with pytest.raises(InvalidImport) as info:
        with regions.session() as s:
            import_users(s, defs, path)
    assert [p for p in info.value.problems if p.startswith(f"{path}:4:") and "99.01.01" in p]
    assert user_count(regions) == (0, 0)


def test_import_needs_the_columns(regions, defs, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("username,region\nsiti,19.01.01\n", encoding="utf-8")
    with pytest.raises(Refused, match="role"):
        with regions.session() as s:
            import_users(s, defs, path)
    assert user_count(regions) == (0, 0)


def test_passwords_are_hashed_and_authenticate(regions, defs):
    with regions.session() as s:
        add_user(s, defs, "siti", role="operator", region="19.01.01", password="rahasia",
                 now=NOW)
    with regions.session() as s:
        siti = get_user(s, "siti")
        assert siti.password_hash and siti.password_hash != "rahasia"
        assert "rahasia" not in siti.password_hash
        assert siti.created_at == NOW
        assert authenticate(s, "siti", "rahasia").id == siti.id
        assert authenticate(s, "siti", "salah") is None
        assert authenticate(s, "nobody", "rahasia") is None
        siti.active = False
    with regions.session() as s:
        assert authenticate(s, "siti", "rahasia") is None


def test_same_password_hashes_differently(regions, defs):
    with regions.session() as s:
        a = add_user(s, defs, "a", password="sama", now=NOW)
        b = add_user(s, defs, "b", password="sama", now=NOW)
        assert a.password_hash != b.password_hash  # salted


def test_role_must_exist_at_the_region_level(regions, defs):
    with regions.session() as s:
        for role, region in [("supervisor", "19.01.01"),   # kab/kota role on a kecamatan
                             ("camat", "19.01.01"),
                             ("operator", DESA)]:  # desa/kelurahan: no level at tier 4
            with pytest.raises(Refused):
                add_user(s, defs, "x", role=role, region=region, now=NOW)
        with pytest.raises(Refused):
            add_user(s, defs, "x", role="operator", now=NOW)  # role without region
        with pytest.raises(NotFound):
            add_user(s, defs, "x", role="operator", region="99.99", now=NOW)


def test_add_user_is_idempotent(regions, defs):
    with regions.session() as s:
        add_user(s, defs, "siti", role="operator", region="19.01.01", now=NOW)
        add_user(s, defs, "siti", role="operator", region="19.01.01", now=NOW)
        add_user(s, defs, "siti", role="verifikator", region="19.01.01", now=NOW)
    assert user_count(regions) == (1, 2)
