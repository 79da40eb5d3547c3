"""The runtime commands through click's CliRunner: db, regions, year, users, task."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from lokal import wilayah
from sqlalchemy import func, select

from helpers import track_cli_databases
from engine.cli import main
from engine.people import authenticate
from engine.regions import kemendagri_regions
from engine.forms.parts import parts_of
from engine.runtime import find_task
from engine.store.migrate import head
from engine.store.models import Event, Region

from .support import UTC, WORKFLOWS, YEAR, lifecycle_only, task_events

# 20 January 2026, 10:00 WIB: kecamatan analisis_situasi (due 15 January) is overdue.
CLI_NOW = dt.datetime(2026, 1, 20, 3, 0, tzinfo=UTC)
KEC = "19.01.01"


@pytest.fixture
def cli(monkeypatch, db_url, tmp_path):
    """Run ``aksi --workflows WORKFLOWS --db URL ...`` with the clock fixed at `CLI_NOW`, on
    the juknis lifecycle with forms that take any data (`lifecycle_only`)."""
    workflows = lifecycle_only(WORKFLOWS, tmp_path / "definitions")
    for module in ("engine.runtime.years", "engine.runtime.tasks", "engine.runtime.actions",
                   "engine.runtime.stage_forms", "engine.people.users"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: CLI_NOW)
    monkeypatch.delenv("AKSI_WORKFLOWS", raising=False)
    monkeypatch.delenv("AKSI_DATABASE_URL", raising=False)
    opened = track_cli_databases(monkeypatch)
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, ["--workflows", str(workflows), "--db", db_url, *args],
                             input=input)

    yield run
    for db in opened:
        db.dispose()


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.fixture
def ready_cli(cli):
    """Schema, province 19, year 2026 and the users of kecamatan 19.01.01 and kab. 19.01."""
    ok(cli("db", "upgrade"))
    ok(cli("regions", "load", "--province", "19"))
    ok(cli("year", "start", "2026", "--province", "19", "--json"))
    for role, region in [("operator", KEC), ("verifikator", KEC), ("approver", KEC),
                         ("supervisor", "19.01")]:
        ok(cli("users", "add", f"{role}@{region}", "--role", role, "--region", region,
               "--password-stdin", input="Kuat-sekali-42\n"))
    return cli


def test_commands_before_db_upgrade_exit_1(cli, raw_db):
    for args in (["regions", "load", "--province", "19"], ["year", "start", "2026"],
                 ["task", "list"], ["task", "show", KEC, "analisis_situasi", "--year", "2026"]):
        result = cli(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "aksi db upgrade" in result.output
    assert ok(cli("db", "status")).output.strip().endswith(f"versi - (terbaru {head()})")


def test_setup_commands(cli, raw_db, defs):
    result = ok(cli("db", "upgrade"))
    assert f"skema versi {head()}" in result.output
    expected_regions = len(kemendagri_regions("19"))
    result = ok(cli("regions", "load", "--province", "19"))
    assert f"wilayah: {expected_regions} ditambahkan, 0 diganti nama, 0 tetap" in result.output
    assert "0 ditambahkan" in ok(cli("regions", "load", "--province", "19")).output
    result = ok(cli("year", "start", "2026", "--province", "19", "--json"))
    report = json.loads(result.stdout)
    kabkota = [w.code for w in wilayah.list_wilayah("19")]
    n = {"provinsi": 1, "kabkota": len(kabkota),
         "kecamatan": sum(len(wilayah.list_wilayah(k)) for k in kabkota)}
    assert report["year"] == 2026
    assert report["cases"] == n
    assert report["skipped"] == {level: 0 for level in n}
    assert report["tasks"] == sum(n[d.level] * len(d.stages) for d in defs)
    assert report["opened"] == sum(
        n[d.level] * sum(1 for s in d.stages if not s.after and s.waits_for is None
                         and s.opens.in_year(YEAR) <= CLI_NOW.date()) for d in defs)
    again = json.loads(ok(cli("year", "start", "2026", "--province", "19", "--json")).stdout)
    assert again["cases"] == {level: 0 for level in n} and again["skipped"] == n
    result = ok(cli("users", "add", "siti", "--role", "operator", "--region", KEC,
                    "--password-stdin", input="Kuat-sekali-42\n"))
    assert result.output.strip() == f"siti: operator@{KEC}"
    with raw_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Region)) == expected_regions
        assert authenticate(s, "siti", "Kuat-sekali-42").username == "siti"
        assert authenticate(s, "siti", "Kuat-sekali-42\n") is None
        started = s.scalars(select(Event).where(Event.kind == "case_started")).all()
        assert {e.at for e in started} == {CLI_NOW}  # the fixed clock reached the engine


def test_usage_errors_exit_2(ready_cli):
    for args in (["task", "act", KEC, "analisis_situasi", "--year", "2026", "--as", "x"],
                 ["task", "list", "--mine"],
                 ["year", "start", "1999"],
                 ["year", "start", "2026", "--level", "desa"],
                 ["task", "show", KEC, "analisis_situasi", "--year", "duaribu"]):
        assert ready_cli(*args).exit_code == 2, args
    result = ready_cli("users", "add", "x", "--password-stdin", input="\n")
    assert result.exit_code == 2


def test_task_show_json_with_blockers(ready_cli):
    result = ok(ready_cli("task", "show", "19.01", "analisis_situasi", "--year", "2026", "--json"))
    v = json.loads(result.stdout)
    kec = [w for w in wilayah.list_wilayah("19.01")]
    assert (v["region"], v["region_name"], v["level"], v["stage"], v["state"], v["version"]) == \
        ("19.01", "Kabupaten Bangka", "kabkota", "analisis_situasi", "locked", 1)
    assert v["due_at"] == "2026-02-28T16:59:59+00:00" and v["timezone"] == "Asia/Jakarta"
    assert v["overdue"] is False
    assert [b["kind"] for b in v["blockers"]] == ["waits_for"]
    b = v["blockers"][0]
    assert (b["have"], b["need"], b["total"], b["level"], b["state"]) == \
        (0, len(kec), len(kec), "kecamatan", "approved")
    assert b["regions"] == [w.code for w in kec]
    assert [(c["code"], c["name"], c["state"], c["due_at"]) for c in b["children"]] == \
        [(w.code, w.name, "ready", "2026-01-15T16:59:59+00:00") for w in kec]
    text = ok(ready_cli("task", "show", "19.01", "analisis_situasi", "--year", "2026")).output
    assert "terhambat: menunggu semua kecamatan" in text
    assert f"{kec[0].code} {kec[0].name}: ready" in text
    shown = json.loads(ok(ready_cli("task", "show", KEC, "analisis_situasi", "--year", "2026",
                                    "--as", f"operator@{KEC}", "--json")).stdout)
    assert [t["trigger"] for t in shown["triggers"]] == ["submit"]
    assert shown["overdue"] is True and shown["blockers"] == []


def test_task_act_ok_and_refused(ready_cli, raw_db, tmp_path):
    args = (KEC, "analisis_situasi")
    result = ok(ready_cli("task", "act", *args, "submit", "--year", "2026",
                          "--as", f"operator@{KEC}"))
    assert result.stdout.strip() == f"{KEC} analisis_situasi: ready -> submitted (versi 2)"

    refused = ready_cli("task", "act", *args, "approve", "--year", "2026",
                        "--as", f"operator@{KEC}")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("Ditolak: ")
    assert "tidak berhak" in refused.stderr and "approver" in refused.stderr
    assert refused.stdout == ""

    invalid = ready_cli("task", "act", *args, "approve", "--year", "2026",
                        "--as", f"approver@{KEC}")
    assert invalid.exit_code == 1 and "tidak dapat dilakukan" in invalid.stderr

    no_reason = ready_cli("task", "act", *args, "return", "--year", "2026",
                          "--as", f"verifikator@{KEC}")
    assert no_reason.exit_code == 1 and "memerlukan alasan" in no_reason.stderr

    stale = ready_cli("task", "act", *args, "verify", "--year", "2026", "--expect-version", "1",
                      "--as", f"verifikator@{KEC}", "--json")
    assert stale.exit_code == 1
    error = json.loads(stale.stdout)
    assert (error["error"], error["version"], error["region"]) == ("Conflict", 2, KEC)

    unknown = ready_cli("task", "act", *args, "verify", "--year", "2026", "--as", "nobody")
    assert unknown.exit_code == 1 and "pengguna 'nobody' tidak ada" in unknown.stderr

    returned = json.loads(ok(ready_cli("task", "act", *args, "return", "--year", "2026",
                                       "--reason", "kurang data", "--as",
                                       f"verifikator@{KEC}", "--json")).stdout)
    assert (returned["from_state"], returned["to_state"], returned["version"]) == \
        ("submitted", "returned", 3)

    data = tmp_path / "data.json"
    data.write_text(json.dumps({"kec_analisis_situasi": {"catatan": {"isi": "lengkap"}}}))
    ok(ready_cli("task", "act", *args, "submit", "--year", "2026", "--data", str(data),
                 "--as", f"operator@{KEC}"))
    with raw_db.session() as s:
        task = find_task(s, KEC, "analisis_situasi", YEAR)
        assert (task.state, task.version) == ("submitted", 4)
        assert parts_of(s, task.id)[""].data == {"kec_analisis_situasi": {"catatan": {"isi": "lengkap"}}}
        evs = task_events(s, task.id)
        assert [(e.kind, e.actor, e.at) for e in evs[1:]] == [
            ("submit", f"operator@{KEC}", CLI_NOW), ("return", f"verifikator@{KEC}", CLI_NOW),
            ("save", f"operator@{KEC}", CLI_NOW), ("submit", f"operator@{KEC}", CLI_NOW)]
        assert evs[2].payload["reason"] == "kurang data"


def test_task_list_mine_and_overdue(ready_cli):
    ok(ready_cli("task", "act", KEC, "analisis_situasi", "submit", "--year", "2026",
                 "--as", f"operator@{KEC}"))

    mine = json.loads(ok(ready_cli("task", "list", "--as", f"operator@{KEC}", "--mine",
                                   "--year", "2026", "--json")).stdout)
    # earliest deadline first (the two year-long stages share 31 December)
    assert [(t["region"], t["stage"], t["state"]) for t in mine][:1] == \
        [(KEC, "penandaan_apbd_berjalan", "ready")]
    assert sorted((t["region"], t["stage"], t["state"]) for t in mine[1:]) == [
        (KEC, "dukungan_regulasi", "ready"), (KEC, "publikasi", "ready")]
    assert [t["due_at"] for t in mine] == sorted(t["due_at"] for t in mine)
    assert all([x["trigger"] for x in t["triggers"]] == ["submit"] for t in mine)

    checker = json.loads(ok(ready_cli("task", "list", "--as", f"verifikator@{KEC}", "--mine",
                                      "--year", "2026", "--json")).stdout)
    assert [(t["stage"], [x["trigger"] for x in t["triggers"]]) for t in checker] == \
        [("analisis_situasi", ["verify", "return"])]

    seen = json.loads(ok(ready_cli("task", "list", "--as", "supervisor@19.01", "--year", "2026",
                                   "--json", "--limit", "1000")).stdout)
    assert {t["region"] for t in seen} == {"19.01", *(w.code for w in
                                                      wilayah.list_wilayah("19.01"))}

    overdue = json.loads(ok(ready_cli("task", "list", "--overdue", "--year", "2026",
                                      "--json")).stdout)
    kecamatan = sorted(w.code for k in wilayah.list_wilayah("19")
                       for w in wilayah.list_wilayah(k.code))
    assert sorted(t["region"] for t in overdue) == kecamatan
    assert {(t["stage"], t["level"], t["overdue"]) for t in overdue} == \
        {("analisis_situasi", "kecamatan", True)}
    assert {t["state"] for t in overdue} == {"ready", "submitted"}

    text = ok(ready_cli("task", "list", "--overdue", "--year", "2026", "--region", "19.01"))
    lines = text.stdout.strip().splitlines()
    assert len(lines) == 8 and all("TERLAMBAT" in line for line in lines)
    assert "8 tahap" in text.stderr


def test_users_token_issues_once_and_revokes(ready_cli, raw_db):
    from engine.people import token_actor

    result = ok(ready_cli("users", "token", f"operator@{KEC}", "--name", "dashboard"))
    secret = result.stdout.strip()
    assert secret.startswith("aksi_") and "tidak dapat ditampilkan lagi" in result.stderr
    with raw_db.session() as s:
        assert token_actor(s, secret).username == f"operator@{KEC}"
    assert ok(ready_cli("users", "token", f"operator@{KEC}", "--name", "dashboard",
                        "--revoke")).stdout.strip() == "1 token dicabut"
    with raw_db.session() as s:
        assert token_actor(s, secret) is None
    assert ready_cli("users", "token", "siapa", "--name", "x").exit_code == 1
