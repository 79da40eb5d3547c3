"""`aksi users import` checks the whole file first (every problem by line, nothing written),
reads what spreadsheet programs save (BOM, CRLF, UTF-16), never shows a password; the
password policy; `aksi users passwd` and `activate`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.errors import InvalidImport
from engine.people import (SessionPolicy, add_user, authenticate, import_users,
                           password_problem, resume_session, sign_in)
from engine.store.models import Assignment, User

from .support import NOW

HEADER = "username,role,region,unit,password"
STRONG = "Gunung-Talang-7"
AKSI = str(Path(sys.executable).with_name("aksi"))


def counts(db) -> tuple[int, int]:
    with db.session() as s:
        return (s.scalar(select(func.count()).select_from(User)),
                s.scalar(select(func.count()).select_from(Assignment)))


def refused(db, defs, path: Path) -> list[str]:
    with pytest.raises(InvalidImport) as info:
        with db.session() as s:
            import_users(s, defs, path)
    assert counts(db) == (0, 0)  # nothing written
    return info.value.problems


def test_every_problem_is_reported_by_line_and_nothing_is_written(regions, defs, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("\n".join([
        HEADER,
        f"siti,operator,19.01.01,Puskesmas,{STRONG}",     # 2: fine
        f",operator,19.01.01,,{STRONG}",                   # 3: no username
        "budi,operator,19.01.01",                          # 4: short row
        f"siti,operator,19.01.01,Puskesmas,{STRONG}",     # 5: repeats line 2
        "rina,operator,19.01.01,Dapur,",                   # 6: no such unit
        "tono,operator,19.01.01,,rahasia123",              # 7: a common password
        "siti,operator,19.01.02,,Lain-Sekali-88",         # 8: a second password for siti
        f"nama dengan spasi,operator,19.01.01,,{STRONG}",  # 9: not a username
    ]) + "\n", encoding="utf-8")
    problems = refused(regions, defs, path)
    by_line = {int(p.split(":")[1]): p for p in problems}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9]
    assert "nama pengguna kosong" in by_line[3]
    assert "berisi 3 kolom, judul berisi 5" in by_line[4]
    assert "sama dengan baris 2" in by_line[5]
    assert "unit 'Dapur'" in by_line[6]
    assert "terlalu umum" in by_line[7]
    assert "berbeda dengan baris 2" in by_line[8]
    assert "hanya boleh huruf" in by_line[9]
    assert not any(secret in p for p in problems
                   for secret in (STRONG, "rahasia123", "Lain-Sekali-88"))


@pytest.mark.parametrize("encoding, newline", [("utf-8-sig", "\r\n"), ("utf-16", "\r\n"),
                                               ("utf-8", "\n")])
def test_what_spreadsheets_save_is_read(regions, defs, tmp_path, encoding, newline):
    path = tmp_path / "users.csv"
    text = newline.join([HEADER, f"siti,operator,19.01.01,Puskesmas,{STRONG}",
                         "budi,verifikator,19.01.01,,", ""])
    path.write_bytes(text.encode(encoding))
    with regions.session() as s:
        report = import_users(s, defs, path)
    assert (report.users, report.assignments) == (2, 2)
    with regions.session() as s:
        assert authenticate(s, "siti", STRONG).username == "siti"


def test_broken_files_are_refused_with_a_reason(regions, defs, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(f"{HEADER}\nsit\xed,operator,19.01.01,,\n".encode("latin-1"))
    with pytest.raises(InvalidImport, match="bukan teks UTF-8 atau UTF-16"):
        with regions.session() as s:
            import_users(s, defs, latin)
    quote = tmp_path / "quote.csv"
    quote.write_text(f'{HEADER}\nsiti,operator,19.01.01,,"{STRONG}\n', encoding="utf-8")
    assert any("format CSV rusak" in p for p in refused(regions, defs, quote))
    odd = tmp_path / "odd.csv"
    odd.write_text("username,role,region,sandi\nsiti,operator,19.01.01,x\n", encoding="utf-8")
    with pytest.raises(InvalidImport, match="kolom tidak dikenal: sandi"):
        with regions.session() as s:
            import_users(s, defs, odd)
    assert counts(regions) == (0, 0)


def test_the_password_policy():
    assert "terlalu pendek" in password_problem("Pendek-1")
    assert "terlalu umum" in password_problem("Password123")
    assert "terlalu umum" in password_problem("aaaaaaaaaaaa")
    assert "nama pengguna" in password_problem("siti-operator-2026", username="siti")
    assert password_problem(STRONG, username="siti", region="19.01.01") is None


def _cli(db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([AKSI, "--db", db_url, *args], input=stdin, capture_output=True,
                          text=True, timeout=120)


def test_cli_import_lists_problems_without_a_traceback_or_a_secret(regions, tmp_path):
    path = tmp_path / "users.csv"
    path.write_bytes(f"{HEADER}\r\nsiti,operator,19.01.01,,Rahasia123\r\nbudi,operator\r\n"
                     .encode("utf-16"))
    result = _cli(regions.url, "users", "import", str(path))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{path}:2:" in result.stderr and f"{path}:3:" in result.stderr
    assert "Rahasia123" not in result.stderr + result.stdout
    assert counts(regions) == (0, 0)


def test_passwd_sets_a_password_the_policy_allows_and_ends_sessions(regions, defs):
    with regions.session() as s:
        add_user(s, defs, "siti", role="operator", region="19.01.01", password=STRONG)
    secret = sign_in(regions, "siti", STRONG, address="10.0.0.1", now=NOW)
    with regions.session() as s:
        assert resume_session(s, secret, SessionPolicy(), NOW) == "siti"
    weak = _cli(regions.url, "users", "passwd", "siti", stdin="qwerty12345\n")
    assert weak.returncode == 1 and "terlalu umum" in weak.stderr
    assert "qwerty12345" not in weak.stderr + weak.stdout
    done = _cli(regions.url, "users", "passwd", "siti", stdin="Ngarai-Sianok-9\n")
    assert done.returncode == 0, done.stderr
    with regions.session() as s:
        assert authenticate(s, "siti", "Ngarai-Sianok-9").username == "siti"
        assert resume_session(s, secret, SessionPolicy(), NOW) is None  # signed out
    nobody = _cli(regions.url, "users", "passwd", "nobody", stdin="Ngarai-Sianok-9\n")
    assert nobody.returncode == 1 and "tidak ada" in nobody.stderr
    assert counts(regions)[0] == 1  # not created


def test_deactivate_then_activate(regions, defs):
    with regions.session() as s:
        add_user(s, defs, "siti", role="operator", region="19.01.01", password=STRONG)
    assert _cli(regions.url, "users", "deactivate", "siti").returncode == 0
    with regions.session() as s:
        assert authenticate(s, "siti", STRONG) is None
    assert _cli(regions.url, "users", "activate", "siti").returncode == 0
    with regions.session() as s:
        assert authenticate(s, "siti", STRONG).username == "siti"


def test_a_username_the_store_cannot_hold_is_refused_without_a_secret(regions):
    """On PostgreSQL a too-long username was a database error that printed the new user's
    password hash; now it is refused before anything is written."""
    result = _cli(regions.url, "users", "add", "a" * 100, "--role", "operator", "--region",
                  "19.01.01", "--password-stdin", stdin=f"{STRONG}\n")
    assert result.returncode == 1
    assert "paling panjang 80" in result.stderr
    shown = result.stdout + result.stderr
    assert "Traceback" not in shown and "scrypt:" not in shown and "pbkdf2:" not in shown
    assert counts(regions) == (0, 0)
