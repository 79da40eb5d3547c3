"""``aksi users email`` and ``aksi email list|retry|deliver`` through click's CliRunner,
against a real SMTP server; the password never appears in any output."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import select

from engine.cli import main
from engine.store.models import User

from .support import KEC, REMINDER_AT, add_people, environment, free_port, start_province

PASSWORD = "sandi-smtp-rahasia-9876"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def aksi(runner, db, *args, env=None):
    return runner.invoke(main, ["--db", db.url, "--workflows", "workflows", *args],
                         env=env or {})


def test_users_email_sets_shows_and_refuses(runner, db, defs):
    start_province(db, defs)
    add_people(db, defs, [("ani", "operator", KEC, None, None)])
    done = aksi(runner, db, "users", "email", "ani", "--address", "ani@pkm.example.go.id",
                "--pref", "digest")
    assert done.exit_code == 0, done.output
    assert "ani@pkm.example.go.id, ringkasan harian" in done.output
    bad = aksi(runner, db, "users", "email", "ani", "--address", "ani pkm")
    assert bad.exit_code != 0 and "tidak sah" in bad.output
    both = aksi(runner, db, "users", "email", "ani", "--address", "a@b.example.go.id",
                "--clear")
    assert both.exit_code != 0
    with db.session() as s:
        assert tuple(s.execute(select(User.email, User.email_pref)
                               .where(User.username == "ani")).one()) == (
            "ani@pkm.example.go.id", "digest")
    cleared = aksi(runner, db, "users", "email", "ani", "--clear", "--pref", "none")
    assert cleared.exit_code == 0 and "(tanpa alamat), tidak ada" in cleared.output


def test_dead_mail_is_listed_retried_and_sent(runner, db, defs, smtp):
    start_province(db, defs)
    add_people(db, defs, [("ani", "operator", KEC, "ani@pkm.example.go.id", "each")])
    from engine.worker.tick import tick

    tick(db, REMINDER_AT)
    nowhere = {**environment(free_port()), "AKSI_SMTP_PASSWORD": PASSWORD,
               "AKSI_SMTP_USER": "aksi"}
    outputs = []
    moment = REMINDER_AT
    for _ in range(8):
        result = aksi(runner, db, "email", "deliver", "--now", moment.isoformat(), env=nowhere)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
        moment += dt.timedelta(hours=2)  # past any backoff (capped at one hour)
    assert "1 mati" in outputs[-1]
    listed = aksi(runner, db, "email", "list", "--status", "dead")
    header, line = listed.output.splitlines()
    assert line.split()[1:5] == ["message", line.split()[2], "ani", "dead"]
    rows = json.loads(aksi(runner, db, "email", "list", "--user", "ani", "--json").output)
    assert [(r["kind"], r["status"], r["attempts"]) for r in rows] == [("message", "dead", 8)]
    assert not any(PASSWORD in o for o in outputs + [listed.output, json.dumps(rows)])

    with time_machine.travel(moment, tick=False):  # retry makes it due now
        retried = aksi(runner, db, "email", "retry", str(rows[0]["id"]), "99999")
        assert retried.exit_code == 1  # 99999 is not dead
        assert "1 pengiriman diantrekan lagi" in retried.output
        sent = aksi(runner, db, "email", "deliver", "--json", env=environment(smtp.port))
    assert json.loads(sent.output)["delivered"] == 1
    assert [r.rcpt for r in smtp.received] == [["ani@pkm.example.go.id"]]


def test_deliver_without_settings_says_what_is_missing(runner, db):
    off = aksi(runner, db, "email", "deliver")
    assert off.exit_code != 0 and "AKSI_SMTP_HOST" in off.output
    env = {**environment(25), "AKSI_BASE_URL": "aksi.example.go.id"}
    bad = aksi(runner, db, "email", "deliver", env=env)
    assert bad.exit_code != 0 and "AKSI_BASE_URL" in bad.output


def test_users_import_takes_addresses_and_preferences_all_or_nothing(runner, db, defs,
                                                                    tmp_path):
    start_province(db, defs)
    bad = tmp_path / "bad.csv"
    bad.write_text("username,role,region,email,email_pref\n"
                   f"ani,operator,{KEC},ani@pkm.example.go.id,digest\n"
                   f"budi,verifikator,{KEC},budi di kecamatan,each\n"
                   f"citra,approver,{KEC},citra@kec.example.go.id,kadang\n", encoding="utf-8")
    refused = aksi(runner, db, "users", "import", str(bad))
    assert refused.exit_code != 0
    assert f"{bad}:3: alamat surel 'budi di kecamatan' tidak sah" in refused.output
    assert f"{bad}:4: email_pref 'kadang' tidak dikenal" in refused.output
    with db.session() as s:
        assert s.scalar(select(User.id).where(User.username == "ani")) is None  # nothing
    good = tmp_path / "good.csv"
    good.write_text("username,role,region,email,email_pref\n"
                    f"ani,operator,{KEC},ani@pkm.example.go.id,digest\n"
                    f"budi,verifikator,{KEC},budi@kec.example.go.id,\n"
                    f"citra,approver,{KEC},,\n", encoding="utf-8")
    done = aksi(runner, db, "users", "import", str(good))
    assert done.exit_code == 0, done.output
    with db.session() as s:
        stored = dict((u, (e, p)) for u, e, p in s.execute(
            select(User.username, User.email, User.email_pref)).all())
    assert stored == {"ani": ("ani@pkm.example.go.id", "digest"),
                      "budi": ("budi@kec.example.go.id", "each"), "citra": (None, "each")}
