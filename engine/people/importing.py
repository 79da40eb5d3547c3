"""`aksi users import`: a CSV of people and their roles, checked whole before anything is
written.

Every row is checked - its number of columns, the username, the role on the region (and
the unit), the password against the policy (people/passwords.py), rows repeated, one
person given two passwords - and every problem is reported with its line; only a file
without problems is written, in the caller's one transaction. The file may be UTF-8 (with
or without a byte-order mark) or UTF-16 (with one), its lines ending in LF or CRLF, as
spreadsheet programs save CSV. No message ever shows a password.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ..definitions import DefinitionSet
from ..errors import AksiError, InvalidImport
from .passwords import password_problem
from .users import EMAIL_PREFERENCES, USERNAME, add_user, check_grant, email_problem, set_email

REQUIRED = ("username", "role", "region")
COLUMNS = REQUIRED + ("unit", "password", "display_name", "email", "email_pref")
MAX_BYTES = 5_000_000  # a national roster of ~30,000 rows is about 2 MB
SHOWN = 50  # problems listed; the rest are counted


@dataclass
class ImportReport:
    users: int = 0
    assignments: int = 0


@dataclass(frozen=True)
class _Row:
    line: int
    username: str
    role: str
    region: str
    unit: str | None
    password: str | None
    display_name: str
    email: str | None = None
    email_pref: str | None = None


def read_text(path: Path) -> str:
    """The file's text: UTF-16 with a byte-order mark, else UTF-8 (a mark allowed)."""
    if path.stat().st_size > MAX_BYTES:
        raise InvalidImport(f"{path}: berkas lebih dari {MAX_BYTES // 1_000_000} MB",
                            problems=[])
    data = path.read_bytes()
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidImport(f"{path}: bukan teks UTF-8 atau UTF-16 (bait ke-{exc.start + 1}); "
                            "simpan sebagai CSV UTF-8", problems=[]) from None
    if "\x00" in text:
        raise InvalidImport(f"{path}: berkas memuat karakter NUL; simpan sebagai CSV UTF-8",
                            problems=[])
    return text


def _header(fields: list[str], path: Path) -> list[str]:
    names = [f.strip().lower() for f in fields]
    missing = [c for c in REQUIRED if c not in names]
    unknown = [n for n in names if n not in COLUMNS]
    if missing or unknown or len(set(names)) != len(names):
        parts = []
        if missing:
            parts.append(f"kolom wajib tidak ada: {', '.join(missing)}")
        if unknown:
            parts.append(f"kolom tidak dikenal: {', '.join(unknown)}")
        if len(set(names)) != len(names):
            parts.append("ada kolom yang berulang")
        raise InvalidImport(f"{path}:1: {'; '.join(parts)} (kolom: {', '.join(COLUMNS)})",
                            problems=[])
    return names


def _rows(text: str, path: Path) -> tuple[list[_Row], list[str]]:
    """The rows, and the problems of their shape (line by line)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[_Row] = []
    problems: list[str] = []
    try:
        first = next(reader, None)
        if first is None:
            raise InvalidImport(f"{path}: berkas kosong", problems=[])
        names = _header(first, path)
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # an empty line
            if len(record) != len(names):
                problems.append(f"{path}:{reader.line_num}: berisi {len(record)} kolom, "
                                f"judul berisi {len(names)}")
                continue
            values = dict(zip(names, record))

            def text_of(name: str) -> str:
                return (values.get(name) or "").strip()
            rows.append(_Row(reader.line_num, text_of("username"), text_of("role"),
                             text_of("region"), text_of("unit") or None,
                             values.get("password") or None, text_of("display_name"),
                             text_of("email") or None, text_of("email_pref") or None))
    except csv.Error as exc:
        problems.append(f"{path}:{reader.line_num}: format CSV rusak ({exc}); periksa tanda "
                        "kutip")
    return rows, problems


def _row_problems(session: Session, definitions: DefinitionSet, row: _Row,
                  seen: dict, passwords: dict) -> list[str]:
    out = []
    if not row.username:
        out.append("nama pengguna kosong")
    elif not USERNAME.fullmatch(row.username):
        out.append(f"nama pengguna '{row.username[:80]}' hanya boleh huruf, angka, titik, garis "
                   "bawah, @ dan tanda hubung, paling panjang 80")
    try:
        check_grant(session, definitions, row.role or None, row.region or None, row.unit)
    except AksiError as exc:
        out.append(exc.message)
    if row.password is not None:
        why = password_problem(row.password, username=row.username, region=row.region)
        if why:
            out.append(why)
        earlier = passwords.setdefault(row.username, (row.line, row.password))
        if earlier[1] != row.password:
            out.append(f"kata sandi {row.username} berbeda dengan baris {earlier[0]}")
    if row.email and (why := email_problem(row.email)):
        out.append(why)
    if row.email_pref and row.email_pref not in EMAIL_PREFERENCES:
        out.append(f"email_pref '{row.email_pref[:20]}' tidak dikenal; pilih salah satu: "
                   f"{', '.join(EMAIL_PREFERENCES)}")
    key = (row.username, row.role, row.region)
    first = seen.setdefault(key, row.line)
    if first != row.line:
        out.append(f"sama dengan baris {first} ({row.username}, {row.role}, {row.region})")
    return out


def import_users(session: Session, definitions: DefinitionSet, path: Path) -> ImportReport:
    """CSV with header ``username,role,region[,unit,password,display_name,email,email_pref]``;
    one row per
    role. All or nothing: `InvalidImport` lists every problem by line, and nothing is
    written."""
    rows, problems = _rows(read_text(path), path)
    seen: dict = {}
    passwords: dict = {}
    for row in rows:
        problems += [f"{path}:{row.line}: {p}"
                     for p in _row_problems(session, definitions, row, seen, passwords)]
    if problems:
        shown = problems[:SHOWN]
        if len(problems) > SHOWN:
            shown.append(f"... dan {len(problems) - SHOWN} masalah lain")
        raise InvalidImport(f"{path}: {len(problems)} masalah; tidak ada yang diimpor",
                            problems=shown)
    report = ImportReport()
    users: set[str] = set()
    hashed: set[str] = set()  # a password repeated on a person's rows is hashed once
    for row in rows:
        password = row.password if row.username not in hashed else None
        if password is not None:
            hashed.add(row.username)
        add_user(session, definitions, row.username, role=row.role, region=row.region,
                 unit=row.unit, password=password, display_name=row.display_name)
        if row.email or row.email_pref:
            set_email(session, row.username, email=row.email, pref=row.email_pref)
        if row.username not in users:
            users.add(row.username)
            report.users += 1
        report.assignments += 1
    return report
