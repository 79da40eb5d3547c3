"""`aksi definitions list` and `aksi check`: which definition versions the database holds,
the years and cases running each, and which running years a change on disk concerns."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import time_machine
from click.testing import CliRunner
from lokal import wilayah

from engine.cli import main
from engine.definitions import load
from helpers import ToyCopy, track_cli_databases

# 2 March 2026, inside the 2026 cycle year; the 2027 year is started the next day (early, as
# an administrator may).
NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.timezone.utc)
KABS = len(wilayah.list_wilayah("19"))  # district cases: one per kab/kota of province 19


@pytest.fixture
def history(monkeypatch, db_url, tmp_path):
    """Province 19's year 2026 started on the toy set, then 2027 on a changed copy."""
    toy = ToyCopy(tmp_path / "toy")
    monkeypatch.delenv("AKSI_WORKFLOWS", raising=False)
    monkeypatch.delenv("AKSI_DATABASE_URL", raising=False)
    opened = track_cli_databases(monkeypatch)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["--workflows", str(toy.workflows), "--db", db_url, *args])

    with time_machine.travel(NOW, tick=False):
        for args in (["db", "upgrade"], ["regions", "load", "--province", "19", "--no-desa"],
                     ["year", "start", "2026"]):
            assert run(*args).exit_code == 0, args
    first = load(toy.workflows)
    toy.edit("district", 'due: "03-31"', 'due: "04-15"')
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        assert run("year", "start", "2027").exit_code == 0
        second = load(toy.workflows)
        yield run, toy, first, second
    for db in opened:
        db.dispose()


def test_definitions_list_json(history):
    run, _, first, second = history
    result = run("definitions", "list", "--json")
    assert result.exit_code == 0, result.output
    day1, day2 = "2026-03-02T03:00:00+00:00", "2026-03-03T03:00:00+00:00"
    assert first["region"].content_hash == second["region"].content_hash  # unchanged file
    assert json.loads(result.output) == [
        {"hash": first["district"].content_hash, "level": "district", "version": "toy-1",
         "stored_at": day1, "years": [{"year": 2026, "cases": KABS}], "on_disk": False},
        {"hash": second["district"].content_hash, "level": "district", "version": "toy-1",
         "stored_at": day2, "years": [{"year": 2027, "cases": KABS}], "on_disk": True},
        {"hash": first["region"].content_hash, "level": "region", "version": "toy-1",
         "stored_at": day1, "years": [{"year": 2026, "cases": 1}, {"year": 2027, "cases": 1}],
         "on_disk": True},
    ]


def test_definitions_list_text(history):
    run, toy, first, second = history
    result = run("definitions", "list")
    assert result.exit_code == 0, result.output
    lines = [re.sub(r" +", " ", line) for line in result.output.splitlines()]
    assert lines == [
        "tingkat versi hash disimpan tahun (kasus)",
        f"district toy-1 {first['district'].content_hash[:12]} 2026-03-02 2026 ({KABS})",
        f"district toy-1 {second['district'].content_hash[:12]} 2026-03-03 2027 ({KABS}) "
        "= berkas",
        f"region toy-1 {first['region'].content_hash[:12]} 2026-03-02 2026 (1), 2027 (1) "
        "= berkas",
    ]
    # A broken file on disk: the list still shows what is stored, matching nothing.
    toy.edit("district", 'due: "04-15"', 'due: "02-30"')
    broken = run("definitions", "list")
    assert broken.exit_code == 0 and "= berkas" not in broken.output
    assert len(broken.output.splitlines()) == 4


def test_check_names_the_running_years_a_change_concerns(history):
    run, toy, first, second = history
    result = run("check", "--json")
    assert result.exit_code == 0, result.output
    (finding,) = [f for f in json.loads(result.stdout) if f["code"] == "definition-changed"]
    assert finding["file"] == toy.file("district")
    assert finding["message"] == (
        "berkas ini berbeda dari definisi yang dipakai kasus berjalan tahun 2026 "
        f"({KABS} kasus, versi toy-1, {first['district'].content_hash[:12]}); perubahan hanya "
        "berlaku untuk tahun yang dimulai sesudah ini, atau untuk kasus berjalan sesudah "
        "'aksi year migrate 2026' (lihat `aksi definitions list`)")
    # Another change: both running years now use a version other than the file's.
    toy.edit("district", 'due: "04-15"', 'due: "04-20"')
    again = run("check", "--json")
    (finding,) = [f for f in json.loads(again.stdout) if f["code"] == "definition-changed"]
    assert f"tahun 2026 ({KABS} kasus, versi toy-1, {first['district'].content_hash[:12]}), " \
           f"tahun 2027 ({KABS} kasus, versi toy-1, {second['district'].content_hash[:12]})" \
           in finding["message"]


def test_definitions_list_empty_database(db_url, monkeypatch):
    opened = track_cli_databases(monkeypatch)
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db_url, "db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["--db", db_url, "definitions", "list"])
    assert (result.exit_code, result.output) == (
        0, "belum ada definisi tersimpan (belum ada tahun yang dimulai)\n")
    assert json.loads(runner.invoke(main, ["--db", db_url, "definitions", "list",
                                           "--json"]).output) == []
    for db in opened:
        db.dispose()
