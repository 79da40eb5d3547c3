"""The year simulator: deterministic, complete, and true to what it wrote in its database.

Runs the juknis workflows and the toy set (other level, state, role and trigger
names) for Kepulauan Bangka Belitung (19). Expected region counts come from the
Kemendagri data directly, expected scores from the YAML text: never from the
simulator's own numbers.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from lokal import wilayah
from sqlalchemy import func, select

from engine.cli import main
from engine.definitions import load
from engine.simulation import Policy, Settings, SimulationReport, sample, simulate
from engine.store import Database
from engine.store.models import Event, Task
from helpers import TOY, TOY_WORKFLOWS, WORKFLOWS

YEAR = 2026
PROVINCE = "19"


def regions_by_tier(province: str = PROVINCE) -> dict[int, int]:
    """Number of regions at each tier of ``province``, from the Kemendagri data."""
    kabs = [w.code for w in wilayah.list_wilayah(province)]
    return {1: 1, 2: len(kabs), 3: sum(len(wilayah.list_wilayah(k)) for k in kabs)}


def raw(directory: Path) -> dict[str, dict]:
    """level -> the YAML as written."""
    out = {}
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[data["level"]] = data
    return out


def run(directory: Path, **options) -> SimulationReport:
    db_url = options.pop("db_url", None)
    return simulate(load(directory), Settings(YEAR, province=PROVINCE, **options), db_url=db_url)


@pytest.fixture(scope="module")
def juknis() -> SimulationReport:
    return run(WORKFLOWS)


@pytest.fixture(scope="module")
def toy_year() -> SimulationReport:
    return run(TOY_WORKFLOWS)


_runs: dict[tuple, SimulationReport] = {}


def run_once(directory: Path, **options) -> SimulationReport:
    """`run`, played once per module for the same arguments (a juknis year takes seconds)."""
    key = (directory, *sorted(options.items()))
    if key not in _runs:
        _runs[key] = run(directory, **options)
    return _runs[key]


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.delenv("AKSI_WORKFLOWS", raising=False)
    monkeypatch.delenv("AKSI_DATABASE_URL", raising=False)
    return CliRunner()


@pytest.fixture(scope="module")
def cli_year(tmp_path_factory) -> tuple[dict, str]:
    """`aksi simulate 2026 --json --db PATH` with the juknis workflows: (its JSON, the db URL)."""
    path = tmp_path_factory.mktemp("cli") / "sim.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("AKSI_WORKFLOWS", raising=False)
        mp.delenv("AKSI_DATABASE_URL", raising=False)
        result = CliRunner().invoke(main, ["--workflows", str(WORKFLOWS), "simulate", str(YEAR),
                                           "--json", "--db", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), f"sqlite:///{path}"


def stage_rows(report: SimulationReport):
    for level in report.levels:
        for row in level["stages"]:
            yield level, row


# --- determinism --------------------------------------------------------------------------

def test_same_seed_same_year(juknis, cli_year):
    """The API and the CLI play the year separately, in different databases: same JSON."""
    out, _ = cli_year
    assert json.dumps(out, sort_keys=True) == json.dumps(juknis.as_dict(), sort_keys=True)
    assert out["settings"]["seed"] == 1


def test_another_seed_another_year(toy_year):
    assert run(TOY_WORKFLOWS, seed=2).as_dict() != toy_year.as_dict()


# --- every task accounted for -------------------------------------------------------------

@pytest.mark.parametrize("which", ["juknis", "toy_year"])
def test_every_task_accounted_for(which, request):
    report = request.getfixturevalue(which)
    directory = WORKFLOWS if which == "juknis" else TOY_WORKFLOWS
    definitions = raw(directory)
    expected_regions = regions_by_tier()
    assert [lv["level"] for lv in report.levels] == sorted(definitions,
                                                            key=lambda l: definitions[l]["tier"])
    for level in report.levels:
        data = definitions[level["level"]]
        regions = expected_regions[data["tier"]]
        assert level["regions"] == regions
        assert [r["stage"] for r in level["stages"]] == [s["id"] for s in data["stages"]]
        for row in level["stages"]:
            assert row["tasks"] == regions, row
            assert row["on_time"] + row["late"] + row["missed"] == row["tasks"], row
            assert row["never_opened"] <= row["missed"]
    expected_tasks = sum(expected_regions[d["tier"]] * len(d["stages"]) for d in definitions.values())
    assert report.totals["tasks"] == expected_tasks
    for key in ("on_time", "late", "missed", "reminders", "escalations", "returns"):
        assert report.totals[key] == sum(row[key] for _, row in stage_rows(report))
    # The default settings make people late, miss and send back: the year is not all on time.
    assert report.totals["late"] > 0 and report.totals["on_time"] > report.totals["late"]
    assert report.refused == []


@pytest.mark.parametrize("which", ["juknis", "toy_year"])
def test_classification_covers_every_region(which, request):
    report = request.getfixturevalue(which)
    scored = [lv for lv in report.levels if lv["classification"] is not None]
    assert scored
    for level in scored:
        assert sum(level["classification"]["bands"].values()) == level["regions"] > 0


# --- lateness -----------------------------------------------------------------------------

@pytest.mark.parametrize("directory, top", [(WORKFLOWS, "Berdaya"), (TOY_WORKFLOWS, "Gold")])
def test_nobody_late_nothing_escalates(directory, top):
    report = run_once(directory, lateness=0, missed=0)
    for level, row in stage_rows(report):
        assert (row["late"], row["missed"], row["escalations"]) == (0, 0, 0), (level["level"], row)
        assert row["on_time"] == row["tasks"] > 0
    assert report.totals["escalations"] == report.totals["escalations_ticked"] == 0
    # Every criterion met: every scored region is in the top band.
    for level in report.levels:
        if level["classification"]:
            assert level["classification"]["bands"][top] == level["regions"]
            assert level["classification"]["mean_score"] == 100


@pytest.mark.parametrize("directory", [WORKFLOWS, TOY_WORKFLOWS])
def test_everybody_late_escalations_fire(directory):
    report = run_once(directory, lateness=1, missed=0)
    assert report.totals["on_time"] == 0
    assert report.totals["late"] > 0
    assert report.totals["escalations"] > 0
    assert report.totals["escalations"] == report.totals["escalations_ticked"]
    punctual = run_once(directory, lateness=0, missed=0)
    assert report.totals["reminders"] > punctual.totals["reminders"]


def test_missed_stages_are_never_done():
    report = run(TOY_WORKFLOWS, lateness=0, missed=1)
    assert report.totals["missed"] == report.totals["tasks"]
    assert report.totals["on_time"] == report.totals["late"] == 0
    assert report.actions == {}


# --- returns ------------------------------------------------------------------------------

def test_return_rate_sends_stages_back_with_a_reason(tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    report = run(TOY_WORKFLOWS, lateness=0, missed=0, return_rate=1, db_url=url)
    # Every review sends back until the cap: still every stage is done on time.
    assert report.totals["on_time"] == report.totals["tasks"]
    bounces = report.actions.get("bounce", 0)
    assert bounces == report.totals["returns"] > 0
    db = Database(url)
    try:
        with db.session() as s:
            events = s.scalars(select(Event).where(Event.kind == "bounce")).all()
    finally:
        db.dispose()
    assert len(events) == bounces
    assert all(e.payload["reason"] for e in events)
    assert run(TOY_WORKFLOWS, return_rate=0).totals["returns"] == 0


# --- the CLI and its database -------------------------------------------------------------

def _db_counts(url: str):
    db = Database(url)
    try:
        with db.session() as s:
            kinds = dict(s.execute(select(Event.kind, func.count()).group_by(Event.kind)).all())
            tasks = Counter({(lv, st): n for lv, st, n in s.execute(
                select(Task.level, Task.stage, func.count()).group_by(Task.level, Task.stage))})
            per_stage = Counter({(lv, st, k): n for lv, st, k, n in s.execute(
                select(Event.level, Event.stage, Event.kind, func.count())
                .where(Event.kind.in_(["reminder", "escalation"]))
                .group_by(Event.level, Event.stage, Event.kind))})
    finally:
        db.dispose()
    return kinds, tasks, per_stage


def test_cli_json_matches_the_database(cli_year):
    out, url = cli_year
    kinds, tasks, per_stage = _db_counts(url)
    assert out["totals"]["reminders"] == kinds["reminder"] > 0
    assert out["totals"]["escalations"] == kinds["escalation"] > 0
    assert out["totals"]["reminders_ticked"] == kinds["reminder"]
    assert out["totals"]["tasks"] == sum(tasks.values())
    for level in out["levels"]:
        for row in level["stages"]:
            key = (level["level"], row["stage"])
            assert row["tasks"] == tasks[key]
            assert row["reminders"] == per_stage[(*key, "reminder")]
            assert row["escalations"] == per_stage[(*key, "escalation")]
    assert sum(out["actions"].values()) == sum(
        n for kind, n in kinds.items()
        if kind in {t for d in raw(WORKFLOWS).values() for t in d["lifecycle"]["triggers"]
                    if t != d["lifecycle"]["opens_with"]})


def test_cli_scores_agree_with_the_yaml(cli_year):
    """Classify every region again from the tasks in the database and the YAML's scoring."""
    out, url = cli_year
    definitions = raw(WORKFLOWS)
    db = Database(url)
    try:
        with db.session() as s:
            rows = s.execute(select(Task.level, Task.region_code, Task.stage, Task.state,
                                    Task.done_at, Task.due_at)).all()
    finally:
        db.dispose()
    for level in out["levels"]:
        data = definitions[level["level"]]
        scoring, done = data.get("scoring"), data["lifecycle"]["done"]
        if scoring is None:
            assert level["classification"] is None
            continue
        by_region: dict[str, dict] = {}
        for r in rows:
            if r.level == level["level"]:
                by_region.setdefault(r.region_code, {})[r.stage] = r
        bands = sorted(scoring["bands"], key=lambda b: -b["min"])
        expected = Counter()
        for stages in by_region.values():
            total = sum(c["weight"] for c in scoring["criteria"])
            met = sum(c["weight"] for c in scoring["criteria"]
                      if stages[c["stage"]].state == done
                      and (c.get("when", "done") == "done"
                           or stages[c["stage"]].done_at <= stages[c["stage"]].due_at))
            value = met / total * 100
            expected[next(b["name"] for b in bands if value >= b["min"])] += 1
        assert level["classification"]["bands"] == {b["name"]: expected[b["name"]] for b in bands}
    # Not a trivial year: some level spreads over more than one band.
    assert any(sum(1 for n in lv["classification"]["bands"].values() if n) > 1
               for lv in out["levels"])


def test_cli_text_and_toy_workflows(runner):
    result = runner.invoke(main, ["--workflows", str(TOY_WORKFLOWS), "simulate", str(YEAR),
                                  "--seed", "3"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for name in ("region", "district", "survey", "plan", "review", "collect", "assess", "Gold"):
        assert name in out
    assert "kecamatan" not in out and "Berdaya" not in out
    assert "waktu:" in out


def test_cli_refuses_a_database_with_cases(runner, tmp_path):
    path = tmp_path / "sim.db"
    args = ["--workflows", str(TOY_WORKFLOWS), "simulate", str(YEAR), "--db", str(path)]
    assert runner.invoke(main, args).exit_code == 0
    _, before, _ = _db_counts(f"sqlite:///{path}")
    again = runner.invoke(main, args)
    assert again.exit_code == 1
    assert "sudah berisi kasus" in again.output
    assert _db_counts(f"sqlite:///{path}")[1] == before


def test_cli_never_uses_the_database_of_the_environment(runner, tmp_path, monkeypatch):
    real = tmp_path / "real.db"
    monkeypatch.setenv("AKSI_DATABASE_URL", f"sqlite:///{real}")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    result = runner.invoke(main, ["--workflows", str(TOY_WORKFLOWS), "simulate", str(YEAR)])
    assert result.exit_code == 0, result.output
    assert not real.exists()
    assert list((tmp_path / "scratch").iterdir()) == []  # the temporary database is gone


def test_cli_bad_options(runner):
    base = ["--workflows", str(TOY_WORKFLOWS), "simulate", str(YEAR)]
    assert runner.invoke(main, [*base, "--province", "99"]).exit_code == 2
    assert runner.invoke(main, [*base, "--province", "19.01"]).exit_code == 2
    assert runner.invoke(main, [*base, "--lateness", "1.5"]).exit_code == 2


# --- the actors' policy, from the definitions alone ---------------------------------------

@pytest.mark.parametrize("directory", [WORKFLOWS, TOY_WORKFLOWS])
def test_policy_walks_every_lifecycle_to_done(directory):
    for d in load(directory):
        lc = d.lifecycle
        policy = Policy.of(d)
        opened = lc.triggers[lc.opens_with].dest
        state, seen = opened, 0
        while state != lc.done:  # following the first forward trigger reaches done
            (first, *_) = policy.forward[state]
            assert not first.by_system and state in first.sources
            assert policy.distance[first.dest] == policy.distance[state] - 1
            state, seen = first.dest, seen + 1
        assert seen == policy.distance[opened] > 0
        back = [t for ts in policy.returns.values() for t in ts]
        assert back, d.level  # both sets can send a stage back
        for source, triggers in policy.returns.items():
            for t in triggers:
                assert t.reason_required
                assert policy.distance[t.dest] > policy.distance[source]
        assert lc.done not in policy.forward


def test_policy_of_the_toy_district():
    data = raw(TOY_WORKFLOWS)["district"]["lifecycle"]
    policy = Policy.of(load(TOY_WORKFLOWS)["district"])
    assert {s: [t.id for t in ts] for s, ts in policy.forward.items()} == {
        "draft": ["file"], "filed": ["accept"]}
    assert {s: [t.id for t in ts] for s, ts in policy.returns.items() if ts} == {
        "filed": ["bounce"]}
    assert data["triggers"]["unseal"]["by"] == "system"
    assert "sealed" not in policy.distance  # only the system leaves the initial state


# --- forms the synthetic operators fill in ------------------------------------------------

SCHEMAS = [
    {"type": "object"},
    {"type": "object", "required": ["a", "b", "c", "d", "e", "f"],
     "properties": {"a": {"type": "string", "minLength": 3, "maxLength": 5},
                    "b": {"type": "integer", "minimum": 7, "multipleOf": 5},
                    "c": {"type": "array", "minItems": 2, "items": {"type": "boolean"}},
                    "d": {"enum": ["x", "y"]},
                    "e": {"type": "string", "format": "date"},
                    "f": {"$ref": "#/$defs/thing"}},
     "$defs": {"thing": {"type": "object", "required": ["n"],
                         "properties": {"n": {"type": "number", "exclusiveMinimum": 0}}}}},
    {"oneOf": [{"type": "string", "minLength": 2}, {"type": "integer"}]},
    {"allOf": [{"type": "object", "required": ["p"]}, {"properties": {"p": {"type": "null"}}}]},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_sample_validates(schema):
    jsonschema.Draft202012Validator(schema).validate(sample(schema))


def test_required_form_fields_are_filled(tmp_path):
    """A form with required fields: the operators fill them and the year runs as before."""
    import shutil

    root = tmp_path / "toy"
    shutil.copytree(TOY, root)
    form = root / "forms" / "district_survey.json"
    schema = json.loads(form.read_text(encoding="utf-8"))
    schema["required"] = ["isian"]
    schema["properties"]["isian"]["required"] = ["note"]
    schema["properties"]["isian"]["properties"]["note"]["minLength"] = 12
    form.write_text(json.dumps(schema), encoding="utf-8")
    report = run(root / "workflows", lateness=0, missed=0)
    assert report.refused == []
    assert report.totals["on_time"] == report.totals["tasks"]
    # A form no sample can satisfy: the refusals are reported, the stages missed.
    schema["properties"]["isian"]["properties"]["note"]["pattern"] = "^[0-9]+$"
    form.write_text(json.dumps(schema), encoding="utf-8")
    report = run(root / "workflows", lateness=0, missed=0)
    survey = next(r for _, r in stage_rows(report) if r["stage"] == "survey")
    assert survey["missed"] == survey["tasks"] == len(report.refused) > 0
    assert {r["trigger"] for r in report.refused} == {"file"}
    assert all(r["problems"] for r in report.refused)
