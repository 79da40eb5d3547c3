"""The audit trail of people: every kind recorded once with its actor, subject and
address, in the transaction of its change; refused and throttled sign-ins; no secret in
any row; `aksi audit` lists, filters and refuses bad input; the web sign-in and sign-out
record the client address."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import select

from helpers import track_cli_databases
from engine.cli import main
from engine.errors import Refused
from engine.people import (Limits, add_user, set_email, end_session, issue_token, revoke_tokens,
                           set_active, sign_in)
from engine.people.audit import ANONYMOUS, KINDS, operator, record
from engine.store.models import ApiToken, AuditEntry, User, WebSession
from engine.web import create_app

from .support import NOW

KEC = "19.01.01"
PASSWORD = "Gunung-Talang-7"
SITI = "siti"
HERE = "203.0.113.5"
THERE = "198.51.100.9"


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def minutes(n: int) -> dt.datetime:
    return NOW + dt.timedelta(minutes=n)


def rows(db) -> list[AuditEntry]:
    with db.session() as s:
        found = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        s.expunge_all()
    return found


def one(db, kind: str) -> AuditEntry:
    found = [r for r in rows(db) if r.kind == kind]
    assert len(found) == 1, (kind, found)
    return found[0]


@pytest.fixture
def walked(regions, defs):
    """Every kind once: siti created with a password and a role, a token issued and
    revoked, deactivated and activated, signed in and out, refused once, throttled once.
    The secrets seen on the way, to be searched for."""
    db = regions
    with db.session() as s:
        add_user(s, defs, SITI, role="operator", region=KEC, password=PASSWORD, now=minutes(0))
    with db.session() as s:
        add_user(s, defs, SITI, role="operator", region=KEC, now=minutes(1))  # nothing new
        token = issue_token(s, SITI, "sipd", now=minutes(2))
    with db.session() as s:
        revoke_tokens(s, SITI, "sipd", now=minutes(3))
        revoke_tokens(s, SITI, "sipd", now=minutes(3))  # none left: nothing to record
        set_active(s, SITI, False, now=minutes(4))
        set_active(s, SITI, False, now=minutes(4))  # no change: nothing to record
        set_active(s, SITI, True, now=minutes(5))
        set_email(s, SITI, email="siti@kec.example.go.id", pref="digest", now=minutes(5))
    session_secret = sign_in(db, SITI, PASSWORD, address=HERE, now=minutes(6))
    assert session_secret
    with db.session() as s:
        end_session(s, session_secret, address=HERE, now=minutes(7))
        end_session(s, session_secret, address=HERE, now=minutes(7))  # already ended
    limits = Limits(per_account=1)
    assert sign_in(db, SITI, "salah-tebak", address=THERE, limits=limits, now=minutes(8)) is None
    with pytest.raises(Refused):
        sign_in(db, SITI, PASSWORD, address=THERE, limits=limits, now=minutes(9))
    with db.session() as s:
        password_hash = s.scalar(select(User.password_hash).where(User.username == SITI))
        token_hash = s.scalar(select(ApiToken.token_hash))
    return db, [PASSWORD, password_hash, token, token_hash, session_secret]


def test_each_kind_is_recorded_once_with_its_actor_subject_and_address(walked):
    db, _ = walked
    assert Counter(r.kind for r in rows(db)) == Counter(list(KINDS))
    cli = operator()
    assert cli.startswith("cli:") and len(cli) > 4
    expected = {  # kind: (actor, address, detail, minute)
        "user_created": (cli, None, None, 0),
        "password_set": (cli, None, None, 0),
        "role_granted": (cli, None, {"level": "kecamatan", "role": "operator", "region": KEC,
                                     "unit": None}, 0),
        "token_issued": (cli, None, {"name": "sipd"}, 2),
        "token_revoked": (cli, None, {"name": "sipd", "count": 1}, 3),
        "user_deactivated": (cli, None, None, 4),
        "user_activated": (cli, None, None, 5),
        "email_set": (cli, None, {"email": "siti@kec.example.go.id", "email_pref": "digest"}, 5),
        "sign_in": (SITI, HERE, None, 6),
        "sign_out": (SITI, HERE, None, 7),
        "sign_in_refused": (ANONYMOUS, THERE, {"reason": "wrong_password"}, 8),
        "sign_in_throttled": (ANONYMOUS, THERE, {"retry_after": 14 * 60}, 9),
    }
    for kind, (actor, address, detail, minute) in expected.items():
        row = one(db, kind)
        assert (row.actor, row.subject, row.address, row.detail, row.at) == \
            (actor, SITI, address, detail, minutes(minute)), kind


def test_no_secret_is_in_any_row(walked):
    db, secrets = walked
    assert all(secrets) and len(secrets) == 5
    text = json.dumps([{c.name: getattr(r, c.name) for c in AuditEntry.__table__.columns}
                       for r in rows(db)], default=str)
    assert SITI in text
    for secret in secrets:
        assert secret not in text
    with pytest.raises(ValueError, match="secret"):
        with db.session() as s:
            record(s, "sign_in", actor=SITI, subject=SITI, at=NOW, detail={"password": "x"})


def test_refusals_say_why_and_a_deactivation_counts_the_sessions_it_ended(regions, defs):
    with regions.session() as s:
        add_user(s, defs, SITI, password=PASSWORD, now=NOW)
        add_user(s, defs, "tanpa-sandi", now=NOW)
    assert sign_in(regions, "tidak-ada", PASSWORD, address=HERE, now=NOW) is None
    assert sign_in(regions, "tanpa-sandi", "apa-saja", address=HERE, now=NOW) is None
    assert sign_in(regions, SITI, PASSWORD, address=HERE, now=NOW)
    with regions.session() as s:
        set_active(s, SITI, False, now=NOW, actor="admin")
    assert sign_in(regions, SITI, PASSWORD, address=HERE, now=NOW) is None
    refused = [(r.subject, r.detail["reason"]) for r in rows(regions)
               if r.kind == "sign_in_refused"]
    assert refused == [("tidak-ada", "no_such_user"), ("tanpa-sandi", "no_password"),
                       (SITI, "inactive")]
    deactivated = one(regions, "user_deactivated")
    assert (deactivated.actor, deactivated.detail) == ("admin", {"sessions_ended": 1})


def test_a_refused_change_records_nothing(regions, defs):
    with pytest.raises(Refused):
        with regions.session() as s:
            add_user(s, defs, SITI, role="camat", region=KEC, now=NOW)  # no such role there
    assert rows(regions) == []


def test_the_web_sign_in_and_sign_out_record_the_client_address(regions, defs):
    with regions.session() as s:
        add_user(s, defs, SITI, password=PASSWORD, now=NOW)
    app = create_app({"DATABASE_URL": regions.url, "SECRET_KEY": "test", "TESTING": True})
    try:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = HERE
        page = client.get("/masuk").data
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()
        answer = client.post("/masuk", data={"username": SITI, "password": PASSWORD,
                                             "csrf_token": token})
        assert answer.status_code == 302
        assert client.post("/keluar", data={"csrf_token": token}).status_code == 302
    finally:
        app.extensions["aksi.db"].dispose()
    assert [(r.kind, r.actor, r.address, r.at) for r in rows(regions)
            if r.kind.startswith("sign_")] == [("sign_in", SITI, HERE, NOW),
                                                ("sign_out", SITI, HERE, NOW)]
    with regions.session() as s:
        assert s.scalar(select(WebSession.secret_hash)) is None


@pytest.fixture
def aksi(monkeypatch, db_url):
    """``aksi --db URL ...`` through click's runner."""
    monkeypatch.delenv("AKSI_DATABASE_URL", raising=False)
    opened = track_cli_databases(monkeypatch)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["--db", db_url, *args])

    yield run
    for db in opened:
        db.dispose()


def test_aksi_audit_lists_newest_first_and_filters(walked, aksi):
    listed = aksi("audit")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["WAKTU", "KEJADIAN", "PELAKU", "PENGGUNA", "ALAMAT",
                                "KETERANGAN"]
    assert "masuk dibatasi" in lines[1] and "05-01-2026 10:09:00 WIB" in lines[1]
    assert lines[2].split()[3:] == ["masuk", "ditolak", "anonim", SITI, THERE, "alasan=kata",
                                    "sandi", "salah"]
    assert lines[4].split()[3:] == ["masuk", SITI, SITI, HERE, "-"]
    assert "pengguna dibuat" in lines[-1] and "10:00:00" in lines[-1]
    assert len(lines) == 1 + len(KINDS) and "12 catatan" in listed.stderr

    as_json = json.loads(aksi("audit", "--json", "--limit", "3").stdout)
    assert [e["kind"] for e in as_json] == ["sign_in_throttled", "sign_in_refused", "sign_out"]
    assert as_json[2]["at"] == minutes(7).isoformat() and as_json[2]["address"] == HERE
    assert as_json[1]["label"] == "masuk ditolak" and as_json[1]["actor"] == ANONYMOUS

    kind = json.loads(aksi("audit", "--json", "--kind", "token_issued").stdout)
    assert [(e["subject"], e["detail"]) for e in kind] == [(SITI, {"name": "sipd"})]
    assert json.loads(aksi("audit", "--json", "--user", "budi").stdout) == []
    assert len(json.loads(aksi("audit", "--json", "--user", SITI).stdout)) == len(KINDS)
    assert json.loads(aksi("audit", "--json", "--since", "2026-01-06").stdout) == []
    assert len(json.loads(aksi("audit", "--json", "--since", "2026-01-05").stdout)) == len(KINDS)
    zoned = aksi("audit", "--zone", "Asia/Jayapura", "--limit", "1").stdout
    assert "05-01-2026 12:09:00 WIT" in zoned


@pytest.mark.parametrize("args, says", [
    (["--since", "31-01-2026"], "tanggal '31-01-2026' tidak dikenali"),
    (["--since", "2026-02-30"], "tanggal '2026-02-30' tidak dikenali"),
    (["--zone", "Mars/Olympus"], "zona waktu 'Mars/Olympus' tidak dikenal"),
    (["--kind", "login"], "'login' is not one of"),
    (["--limit", "0"], "--limit"),
])
def test_aksi_audit_bad_input_exits_2_with_a_message(regions, aksi, args, says):
    answer = aksi("audit", *args)
    assert answer.exit_code == 2 and says in answer.stderr
    assert "Traceback" not in answer.output and isinstance(answer.exception, SystemExit)




def test_a_guesser_held_at_the_limit_adds_one_row_per_window(regions, defs):
    """Throttled attempts are recorded once per username and address per window, so a
    guesser hammering at the limit cannot grow the audit table by a row per request."""
    db = regions
    with db.session() as s:
        add_user(s, defs, SITI, role="operator", region=KEC, password=PASSWORD, now=NOW)
    limits = Limits(per_account=1)
    assert sign_in(db, SITI, "salah-tebak", address=THERE, limits=limits, now=minutes(1)) is None
    for n in range(2, 7):  # five more tries in the same window: all throttled
        with pytest.raises(Refused):
            sign_in(db, SITI, "tebakan-lain", address=THERE, limits=limits, now=minutes(n))
    assert [r.kind for r in rows(db)].count("sign_in_throttled") == 1
    # The window (15 minutes from the first try) has passed: a new one, a new row.
    assert sign_in(db, SITI, "salah-tebak", address=THERE, limits=limits, now=minutes(17)) is None
    with pytest.raises(Refused):
        sign_in(db, SITI, "salah-tebak", address=THERE, limits=limits, now=minutes(18))
    assert [r.kind for r in rows(db)].count("sign_in_throttled") == 2
