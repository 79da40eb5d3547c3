"""The ``aksi`` command through click's CliRunner: exit codes, output formats, --workflows."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from engine.cli import main
from engine.definitions.loader import PACKAGED
from helpers import TOY_WORKFLOWS, WORKFLOWS, ToyCopy


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def _no_env_workflows(monkeypatch):
    monkeypatch.delenv("AKSI_WORKFLOWS", raising=False)


def raw_definitions(directory: Path) -> dict[str, dict]:
    """level -> the YAML data as written, read without the engine."""
    out = {}
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[data["level"]] = data
    return out


def expected_date(spec: str, year: int) -> dt.date:
    """ "MM-DD" or "MM" (last day of the month) in ``year``, computed independently."""
    month, _, day = spec.partition("-")
    last = pycalendar.monthrange(year, int(month))[1]
    return dt.date(year, int(month), min(int(day), last) if day else last)


# --- aksi check -----------------------------------------------------------------------------

def test_check_shipped_workflows_exit_0_with_warning(runner):
    result = runner.invoke(main, ["check", str(WORKFLOWS)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    warning = [l for l in lines if " warning due-before-predecessor: " in l]
    assert len(warning) == 1
    assert warning[0].startswith(f"{WORKFLOWS / 'provinsi.yaml'}:")
    assert "'penandaan_apbd_berjalan'" in warning[0]
    assert " error " not in result.stdout
    assert "0 galat" in result.output


def test_check_defaults_to_local_workflows(runner, monkeypatch):
    monkeypatch.chdir(WORKFLOWS.parent)
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert any(l.startswith("workflows/provinsi.yaml:")
               and "due-before-predecessor" in l for l in result.stdout.splitlines())


def test_check_says_which_definitions_it_used(runner, monkeypatch, tmp_path):
    monkeypatch.chdir(WORKFLOWS.parent)
    local = runner.invoke(main, ["check"])
    assert f"Definisi: {WORKFLOWS} (./workflows di direktori kerja)" in local.stderr
    named = runner.invoke(main, ["--workflows", str(TOY_WORKFLOWS), "check"])
    assert f"Definisi: {TOY_WORKFLOWS} (dari --workflows)" in named.stderr
    env = runner.invoke(main, ["check"], env={"AKSI_WORKFLOWS": str(TOY_WORKFLOWS)})
    assert f"Definisi: {TOY_WORKFLOWS} (dari AKSI_WORKFLOWS)" in env.stderr
    monkeypatch.chdir(tmp_path)  # no ./workflows: the definitions shipped with aksi
    shipped = runner.invoke(main, ["check", "--json"])
    assert shipped.exit_code == 0, shipped.output
    assert f"Definisi: {PACKAGED.resolve()} (bawaan aksi: " in shipped.stderr
    files = {Path(f["file"]) for f in json.loads(shipped.stdout)}  # its warnings' files
    assert files and {f.parent for f in files} == {PACKAGED.resolve()}


def test_a_missing_definitions_directory_is_its_own_finding(runner, tmp_path):
    for args, env in ((["--workflows", str(tmp_path / "nope")], {}),
                      ([], {"AKSI_WORKFLOWS": str(tmp_path / "nope")})):
        result = runner.invoke(main, [*args, "check"], env=env)
        assert result.exit_code == 1, result.output
        assert result.stdout.splitlines() == [
            f"{tmp_path / 'nope'}:1:1: error missing-directory: direktori definisi ini tidak "
            "ada: periksa --workflows atau AKSI_WORKFLOWS"]
        graph = runner.invoke(main, [*args, "graph", "kecamatan"], env=env)
        assert graph.exit_code == 1 and "error missing-directory" in graph.stderr, graph.output
        assert "yaml-syntax" not in graph.output and "Traceback" not in graph.output


def test_check_strict_fails_on_warnings(runner):
    result = runner.invoke(main, ["check", "--strict", str(WORKFLOWS)])
    assert result.exit_code == 1
    assert "warning due-before-predecessor" in result.stdout


def test_check_strict_passes_a_clean_set(runner):
    result = runner.invoke(main, ["check", "--strict", str(TOY_WORKFLOWS)])
    assert result.exit_code == 0, result.output
    assert "0 galat, 0 peringatan" in result.output


def test_check_json(runner):
    result = runner.invoke(main, ["check", "--json", str(WORKFLOWS)])
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)
    assert findings, "the shipped workflows have warnings"
    for f in findings:
        assert set(f) == {"file", "line", "column", "severity", "code", "message"}
        assert isinstance(f["line"], int) and isinstance(f["column"], int)
        assert f["severity"] in ("error", "warning")
    contradiction = [f for f in findings if f["code"] == "due-before-predecessor"]
    assert len(contradiction) == 1
    assert contradiction[0]["severity"] == "warning"
    assert contradiction[0]["file"] == str(WORKFLOWS / "provinsi.yaml")


def test_check_json_strict(runner):
    result = runner.invoke(main, ["check", "--json", "--strict", str(WORKFLOWS)])
    assert result.exit_code == 1
    assert any(f["code"] == "no-slack" for f in json.loads(result.stdout))


def test_check_broken_fixture_exit_1(runner, toy: ToyCopy):
    toy.edit("district", "    group: intake\n", "    group: intak\n")
    result = runner.invoke(main, ["check", str(toy.workflows)])
    assert result.exit_code == 1
    line, col = toy.locate("district", "group: intak")
    expected = f"{toy.file('district')}:{line}:{col + len('group: ')}: error unknown-group: "
    assert any(l.startswith(expected) for l in result.stdout.splitlines()), result.output
    assert "1 galat, 0 peringatan" in result.output


def test_check_broken_fixture_json(runner, toy: ToyCopy):
    toy.edit("region", "  opens_with: unseal\n", "  opens_with: unlock\n")
    result = runner.invoke(main, ["check", "--json", str(toy.workflows)])
    assert result.exit_code == 1
    [finding] = json.loads(result.stdout)
    line, col = toy.locate("region", "opens_with: unlock")
    assert finding == {
        "file": toy.file("region"), "line": line, "column": col + len("opens_with: "),
        "severity": "error", "code": "unknown-trigger", "message": finding["message"]}


def test_check_one_file(runner, toy: ToyCopy):
    toy.edit("region", "    group: judge\n", "    group: judg\n")
    ok = runner.invoke(main, ["check", str(toy.path("district"))])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(main, ["check", str(toy.path("region"))])
    assert bad.exit_code == 1
    assert "unknown-group" in bad.stdout


def test_check_nonexistent_path_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(main, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_unknown_option_is_a_usage_error(runner):
    result = runner.invoke(main, ["check", "--bogus"])
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_unknown_command_is_a_usage_error(runner):
    assert runner.invoke(main, ["frobnicate"]).exit_code == 2


# --- --workflows and AKSI_WORKFLOWS ---------------------------------------------------------

def test_workflows_option_points_check_at_the_toy_set(runner, monkeypatch):
    monkeypatch.chdir(WORKFLOWS.parent)  # ./workflows exists here, but is not used
    result = runner.invoke(main, ["--workflows", str(TOY_WORKFLOWS), "check", "--strict"])
    assert result.exit_code == 0, result.output
    assert "0 galat, 0 peringatan" in result.output


def test_workflows_option_points_graph_and_calendar_at_the_toy_set(runner):
    graph = runner.invoke(main, ["--workflows", str(TOY_WORKFLOWS), "graph", "region"])
    assert graph.exit_code == 0, graph.output
    assert "collect" in graph.stdout and "assess" in graph.stdout
    assert "50% district" in graph.stdout  # the quorum of collect's waits_for
    assert "kecamatan" not in graph.stdout
    cal = runner.invoke(main, ["--workflows", str(TOY_WORKFLOWS), "calendar", "2026",
                               "--format", "json"])
    assert cal.exit_code == 0, cal.output
    assert {(r["level"], r["stage"]) for r in json.loads(cal.stdout)} == {
        ("district", "survey"), ("district", "plan"), ("district", "review"),
        ("region", "collect"), ("region", "assess")}


def test_env_var_points_commands_at_the_toy_set(runner, monkeypatch):
    monkeypatch.chdir(WORKFLOWS.parent)
    env = {"AKSI_WORKFLOWS": str(TOY_WORKFLOWS)}
    check = runner.invoke(main, ["check", "--strict"], env=env)
    assert check.exit_code == 0, check.output
    assert "0 galat, 0 peringatan" in check.output
    graph = runner.invoke(main, ["graph", "district", "--part", "stages"], env=env)
    assert graph.exit_code == 0, graph.output
    assert "survey --> plan" in graph.stdout
    assert runner.invoke(main, ["graph", "kabkota"], env=env).exit_code == 2


def test_option_wins_over_env_var(runner):
    result = runner.invoke(main, ["--workflows", str(WORKFLOWS), "graph", "kabkota"],
                           env={"AKSI_WORKFLOWS": str(TOY_WORKFLOWS)})
    assert result.exit_code == 0, result.output


def test_commands_refuse_a_broken_set(runner, toy: ToyCopy):
    toy.edit("district", "    group: intake\n", "    group: intak\n")
    for args in (["graph", "district"], ["calendar", "2026"]):
        result = runner.invoke(main, ["--workflows", str(toy.workflows), *args])
        assert result.exit_code == 1, args
        assert "error unknown-group" in result.stderr


# --- aksi calendar --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped_raw() -> dict[str, dict]:
    return raw_definitions(WORKFLOWS)


def calendar_json(runner, year: int, *extra: str) -> list[dict]:
    result = runner.invoke(main, ["--workflows", str(WORKFLOWS), "calendar", str(year),
                                  "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_calendar_lists_every_stage_of_every_level(runner, shipped_raw):
    rows = calendar_json(runner, 2026)
    expected = [(level, s["id"]) for level, d in shipped_raw.items() for s in d["stages"]]
    got = [(r["level"], r["stage"]) for r in rows]
    assert sorted(got) == sorted(expected)
    assert len(got) == len(set(got))
    assert {r["level"] for r in rows} == {"kecamatan", "kabkota", "provinsi"}


@pytest.mark.parametrize("year", [2026, 2028])
def test_calendar_dates(runner, shipped_raw, year):
    rows = {(r["level"], r["stage"]): r for r in calendar_json(runner, year)}
    for level, d in shipped_raw.items():
        for s in d["stages"]:
            row = rows[(level, s["id"])]
            assert row["due"] == expected_date(s["due"], year).isoformat(), (level, s["id"])
            assert row["opens"] == expected_date(s.get("opens", "01-01"), year).isoformat()
            dt.date.fromisoformat(row["starts"])


def test_calendar_known_dates(runner, shipped_raw):
    rows = {(r["level"], r["stage"]): r for r in calendar_json(runner, 2026)}
    assert rows[("kecamatan", "analisis_situasi")]["due"] == "2026-01-15"
    end_of_february = [(level, s["id"]) for level, d in shipped_raw.items()
                       for s in d["stages"] if s["due"] == "02"]
    assert end_of_february, 'some shipped stage is due "02"'
    rows_2028 = {(r["level"], r["stage"]): r for r in calendar_json(runner, 2028)}
    for key in end_of_february:
        assert rows[key]["due"] == "2026-02-28"
        assert rows_2028[key]["due"] == "2028-02-29"


def test_calendar_flags_the_provinsi_contradiction(runner):
    rows = {(r["level"], r["stage"]): r for r in calendar_json(runner, 2026)}
    row = rows[("provinsi", "penandaan_apbd_berjalan")]
    assert row["contradiction"] is True
    assert row["starts"] > row["due"]
    assert rows[("kecamatan", "analisis_situasi")]["contradiction"] is False


def test_calendar_level_filter(runner):
    rows = calendar_json(runner, 2026, "--level", "kabkota")
    assert rows and {r["level"] for r in rows} == {"kabkota"}


def test_calendar_unknown_level_is_a_usage_error(runner):
    result = runner.invoke(main, ["--workflows", str(WORKFLOWS), "calendar", "2026",
                                  "--level", "desa"])
    assert result.exit_code == 2
    assert "desa" in result.output


def test_calendar_year_out_of_range_is_a_usage_error(runner):
    assert runner.invoke(main, ["--workflows", str(WORKFLOWS), "calendar", "1999"]).exit_code == 2


def test_calendar_mermaid(runner, shipped_raw):
    result = runner.invoke(main, ["--workflows", str(WORKFLOWS), "calendar", "2026",
                                  "--format", "mermaid"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("gantt\n")
    for level in shipped_raw:
        assert f"  section {level}" in result.stdout
    assert "kecamatan_analisis_situasi" in result.stdout


def test_calendar_table(runner):
    result = runner.invoke(main, ["--workflows", str(WORKFLOWS), "calendar", "2026"])
    assert result.exit_code == 0, result.output
    line = next(l for l in result.stdout.splitlines()
                if l.split()[:2] == ["kecamatan", "analisis_situasi"])
    assert line.split()[2:5] == ["2026-01-01", "2026-01-01", "2026-01-15"]  # dibuka, mulai, tenggat


# --- aksi graph -----------------------------------------------------------------------------

def test_graph_mermaid(runner):
    result = runner.invoke(main, ["--workflows", str(WORKFLOWS), "graph", "kabkota"])
    assert result.exit_code == 0, result.output
    assert "flowchart" in result.stdout
    assert "stateDiagram" in result.stdout
    assert "analisis_situasi --> penandaan_apbd_berjalan" in result.stdout
    # The child stage a gate waits for, and the state it waits for, by their names.
    assert 'kecamatan__analisis_situasi(["kecamatan: Analisis Situasi"])' in result.stdout
    assert '|"semua kecamatan: Disetujui"| analisis_situasi' in result.stdout
    assert "kecamatan: analisis_situasi" not in result.stdout and ": approved" not in result.stdout


def test_graph_dot(runner):
    result = runner.invoke(main, ["--workflows", str(WORKFLOWS), "graph", "kabkota",
                                  "--format", "dot"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("digraph") == 2  # stage graph and lifecycle
    assert "flowchart" not in result.stdout


@pytest.mark.parametrize("part, present, absent", [
    ("stages", "flowchart", "stateDiagram"),
    ("lifecycle", "stateDiagram", "flowchart"),
])
def test_graph_part(runner, part, present, absent):
    result = runner.invoke(main, ["--workflows", str(WORKFLOWS), "graph", "kecamatan",
                                  "--part", part])
    assert result.exit_code == 0, result.output
    assert present in result.stdout and absent not in result.stdout


def test_graph_unknown_level_is_a_usage_error(runner):
    result = runner.invoke(main, ["--workflows", str(WORKFLOWS), "graph", "desa"])
    assert result.exit_code == 2
    assert "unknown level 'desa'" in result.output


def test_graph_bad_format_is_a_usage_error(runner):
    result = runner.invoke(main, ["--workflows", str(WORKFLOWS), "graph", "kabkota",
                                  "--format", "png"])
    assert result.exit_code == 2
