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
from engine.forms.entry import stage_documents, stage_problems
from engine.store.library import pinned
from engine.simulation import Policy, Settings, SimulationReport, sample, simulate, username
from engine.store import Database
from engine.store.models import Assignment, Event, Task, User
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
    files_dir = options.pop("files_dir", None)
    return simulate(load(directory), Settings(YEAR, province=PROVINCE, **options), db_url=db_url,
                    files_dir=files_dir)


@pytest.fixture(scope="module")
def juknis_db(tmp_path_factory) -> tuple[SimulationReport, str]:
    """The juknis year with the default settings, and the URL of the database it was played in."""
    root = tmp_path_factory.mktemp("juknis")
    url = f"sqlite:///{root / 'sim.db'}"
    return run(WORKFLOWS, db_url=url, files_dir=root / "files"), url


@pytest.fixture(scope="module")
def juknis(juknis_db) -> SimulationReport:
    return juknis_db[0]


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
        mp.setenv("AKSI_FILES", str(path.parent / "files"))  # the uploads go beside it
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
    # Every stage criterion met: a level scored on stages alone has every region in the top
    # band; one also scored on form data earns at least every stage's weight everywhere.
    definitions = raw(directory)
    for level in report.levels:
        if not level["classification"]:
            continue
        criteria = definitions[level["level"]]["scoring"]["criteria"]
        staged = sum(c["weight"] for c in criteria if "stage" in c)
        share = staged / sum(c["weight"] for c in criteria) * 100
        if share == 100:
            assert level["classification"]["bands"][top] == level["regions"]
            assert level["classification"]["mean_score"] == 100
        else:
            assert share <= level["classification"]["mean_score"] < 100


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


def _rows_of(value) -> list[dict]:
    if isinstance(value, dict):
        return [r for r in value.values() if isinstance(r, dict)]
    return [r for r in value or [] if isinstance(r, dict)]


def _sum(rows: list[dict], names) -> float:
    names = [names] if isinstance(names, str) else names
    return sum(r[n] for r in rows for n in names
               if isinstance(r.get(n), (int, float)) and not isinstance(r.get(n), bool))


def measure_fraction(s, data: dict, measure: dict, tasks: dict, region: str) -> float:
    """A form-data criterion's fraction (0-1), read from the YAML text, the rules files and
    the documents stored in the database - not from the engine's scoring."""
    (kind, spec), = measure.items()
    if kind == "children":  # the band each child's penilaian was approved with
        children = set(s.scalars(select(Task.region_code).where(Task.parent_code == region)))
        approved = {}
        for code, payload in s.execute(select(Event.region_code, Event.payload)
                                       .join(Task, Task.id == Event.task_id)
                                       .where(Task.parent_code == region).order_by(Event.id)):
            if isinstance(payload, dict) and isinstance(payload.get("scoring"), dict):
                approved[code] = payload["scoring"]["band"]
        good = sum(approved.get(c) in spec["bands"] for c in children)
        return good / len(children) if children else 0.0
    form = spec["form"]
    stage = next(st["id"] for st in data["stages"] if form in st.get("outputs", []))
    task = tasks.get(stage)
    doc = stage_documents(s, pinned(s, task.definition_hash), task).get(form, {}) if task else {}
    if kind == "rows":
        return float(len(_rows_of(doc.get(spec["section"]))) >= spec.get("min", 1))
    if kind == "ratio":
        rows = _rows_of(doc.get(spec["section"]))
        to = _sum(rows, spec["to"])
        return min(1.0, _sum(rows, spec["of"]) / to) if to > 0 else 0.0
    assert kind == "coverage", kind
    rules = yaml.safe_load((WORKFLOWS.parent / "forms" / f"{form}.rules.yaml")
                           .read_text(encoding="utf-8"))
    shares = []
    for pair in rules.get("coverage") or []:
        rows = _rows_of(doc.get(pair["section"]))
        targeted = _sum(rows, pair["targeted"])
        if targeted > 0:
            shares.append(min(100.0, _sum(rows, pair["served"]) / targeted * 100))
    return sum(shares) / len(shares) / 100 if shares else 0.0


def test_cli_scores_agree_with_the_yaml(cli_year):
    """Classify every region again from the database and the YAML's scoring: stage criteria
    from the tasks, form-data criteria from the stored documents and the rules files."""
    out, url = cli_year
    definitions = raw(WORKFLOWS)
    db = Database(url)
    try:
        with db.session() as s:
            tasks = s.scalars(select(Task)).all()
            for level in out["levels"]:
                data = definitions[level["level"]]
                scoring, done = data.get("scoring"), data["lifecycle"]["done"]
                if scoring is None:
                    assert level["classification"] is None
                    continue
                by_region: dict[str, dict] = {}
                for t in tasks:
                    if t.level == level["level"]:
                        by_region.setdefault(t.region_code, {})[t.stage] = t
                bands = sorted(scoring["bands"], key=lambda b: -b["min"])
                total = sum(c["weight"] for c in scoring["criteria"])
                expected = Counter()
                for region, stages in by_region.items():
                    met = 0.0
                    for c in scoring["criteria"]:
                        if "stage" not in c:
                            met += c["weight"] * measure_fraction(s, data, c["measure"], stages,
                                                                  region)
                        elif stages[c["stage"]].state == done and (
                                c.get("when", "done") == "done"
                                or stages[c["stage"]].done_at <= stages[c["stage"]].due_at):
                            met += c["weight"]
                    value = met / total * 100
                    expected[next(b["name"] for b in bands if value >= b["min"])] += 1
                assert level["classification"]["bands"] == {
                    b["name"]: expected[b["name"]] for b in bands}, level["level"]
    finally:
        db.dispose()
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


# --- forms: plausible data, per unit where a stage has parts -----------------------------

def test_approved_analyses_are_valid_and_each_part_came_from_its_unit(juknis_db):
    """Every approved kecamatan analisis situasi passes every error-level rule on the whole
    document (the units filled one sample: nobody serves more than another targets); each
    part was submitted by an operator of its own unit, and verified by its verifikator."""
    report, url = juknis_db
    definition = load(WORKFLOWS)["kecamatan"]
    parted = {s.id: s.parts for s in definition.stages if s.parts}
    assert set(parted) == {"analisis_situasi", "capaian_semester_1", "capaian_semester_2"}
    db = Database(url)
    try:
        with db.session() as s:
            approved = s.scalars(select(Task).where(
                Task.level == "kecamatan", Task.stage == "analisis_situasi",
                Task.state == definition.lifecycle.done)).all()
            row = next(r for r in report.level("kecamatan")["stages"]
                       if r["stage"] == "analisis_situasi")
            assert len(approved) == row["on_time"] + row["late"] > 0
            warnings = 0
            for task in approved:
                found = stage_problems(s, pinned(s, task.definition_hash), task)
                assert [str(p) for p in found if p.is_error] == [], task.region_code
                warnings += sum(not p.is_error for p in found)
            assert warnings > 0  # the sample leaves a few warnings, as people do
            unit_of = dict(s.execute(select(User.username, Assignment.unit)
                                     .join(Assignment, Assignment.user_id == User.id)).all())
            moves = s.execute(select(Event.kind, Event.actor, Event.region_code, Event.stage,
                                     Event.payload).where(
                Event.level == "kecamatan", Event.stage.in_(parted),
                Event.kind.in_(["submit", "verify"]))).all()
    finally:
        db.dispose()
    submitted: dict[tuple, set] = {}
    for kind, who, region, stage, payload in moves:
        (unit,) = payload["units"]  # a part trigger by a unit's person moves that part only
        assert unit_of[who] == unit
        role = "operator" if kind == "submit" else "verifikator"
        assert who == username(role, region, unit, definition.roles[role].units)
        if kind == "submit":
            submitted.setdefault((region, stage), set()).add(unit)
    for task in approved:
        assert submitted[(task.region_code, "analisis_situasi")] == set(parted["analisis_situasi"])


# --- the actors' policy, from the definitions alone ---------------------------------------

@pytest.mark.parametrize("directory", [WORKFLOWS, TOY_WORKFLOWS])
def test_policy_walks_every_lifecycle_to_done(directory):
    for d, stage in ((d, s) for d in load(directory) for s in d):
        lc = d.lifecycle
        policy = Policy.of(d, stage.id)
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
        # Each stage's walk is fired by that stage's roles (its own `by`).
        assert all(t is d.trigger(stage.id, t.id) for ts in policy.forward.values() for t in ts)


def test_policy_of_the_toy_district():
    data = raw(TOY_WORKFLOWS)["district"]["lifecycle"]
    policy = Policy.of(load(TOY_WORKFLOWS)["district"], "survey")
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
