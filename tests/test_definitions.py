"""The shipped definitions, and what `load()` gives back: frozen, hashed, rebuildable."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import yaml

from engine.definitions import (
    DayOfYear, Definition, DefinitionError, RoleRef, Severity, check, default_directory, load,
)
from engine.definitions.forms.spec import plain
from helpers import TOY_WORKFLOWS, WORKFLOWS, ToyCopy


def stage_key_position(path: Path, stage_id: str, key: str) -> tuple[int, int]:
    """(line, column of the value) of ``key:`` inside the stage ``- id: stage_id``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(rf"\s*- id: {stage_id}\s*", line))
    for i in range(start + 1, len(lines)):
        if re.match(r"\s*- id: ", lines[i]):
            break
        m = re.match(rf"(\s*){key}:\s*", lines[i])
        if m:
            return i + 1, m.end() + 1
    raise AssertionError(f"stage {stage_id} of {path} has no {key}")


# --- the shipped workflows --------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped_findings():
    return check([WORKFLOWS])


@pytest.fixture(scope="module")
def shipped():
    return load(WORKFLOWS)


def test_shipped_workflows_have_no_errors(shipped_findings):
    assert [str(f) for f in shipped_findings if f.is_error] == []


def test_shipped_workflows_are_the_three_levels(shipped):
    assert {d.level: d.tier for d in shipped} == {"provinsi": 1, "kabkota": 2, "kecamatan": 3}


def test_provinsi_contradiction_is_a_due_before_predecessor_warning(shipped_findings):
    provinsi = WORKFLOWS / "provinsi.yaml"
    hits = [f for f in shipped_findings
            if f.code == "due-before-predecessor" and "'penandaan_apbd_berjalan'" in f.message]
    assert len(hits) == 1, [str(f) for f in shipped_findings]
    f = hits[0]
    assert f.severity is Severity.WARNING
    assert Path(f.file).resolve() == provinsi.resolve()
    assert (f.line, f.column) == stage_key_position(provinsi, "penandaan_apbd_berjalan", "due")
    assert "'analisis_situasi'" in f.message


@pytest.mark.parametrize("level", ["kabkota", "provinsi"])
def test_no_slack_for_penilaian_monev(shipped_findings, level):
    path = WORKFLOWS / f"{level}.yaml"
    hits = [f for f in shipped_findings
            if f.code == "no-slack" and Path(f.file).resolve() == path.resolve()
            and "'penilaian_monev'" in f.message]
    assert len(hits) == 1, [str(f) for f in shipped_findings]
    assert hits[0].severity is Severity.WARNING
    assert (hits[0].line, hits[0].column) == stage_key_position(path, "penilaian_monev", "due")


def test_shipped_definitions_carry_their_output_forms(shipped):
    forms = WORKFLOWS.parent / "forms"
    for d in shipped:
        outputs = {form for s in d.stages for form in s.outputs}
        assert outputs and set(d.forms) == outputs
        for form in outputs:
            assert plain(d.forms[form]) == json.loads((forms / f"{form}.json").read_text("utf-8"))
            rules = forms / f"{form}.rules.yaml"
            if rules.is_file():
                assert plain(d.form_rules[form]) == yaml.safe_load(rules.read_text("utf-8"))
            else:
                assert form not in d.form_rules


# --- frozen definitions ----------------------------------------------------------------------

def test_definitions_are_frozen(shipped):
    d = shipped["kabkota"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.title = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.stages[0].due = DayOfYear(1, 1)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.lifecycle.done = "ready"  # type: ignore[misc]
    with pytest.raises(TypeError):
        d.stages[0] = d.stages[1]  # type: ignore[index]
    with pytest.raises(AttributeError):
        d.stages[0].after.append("x")  # type: ignore[attr-defined]
    assert d.title != "changed"


@pytest.mark.parametrize("mapping", [
    lambda d: d.roles, lambda d: d.groups,
    lambda d: d.lifecycle.states, lambda d: d.lifecycle.triggers,
    lambda d: d.forms, lambda d: d.forms["kec_analisis_situasi"],
])
def test_definition_mappings_are_read_only(shipped, mapping):
    m = mapping(shipped["kecamatan"])
    before = dict(m)
    key = next(iter(m))
    with pytest.raises(TypeError):
        m["intruder"] = m[key]
    with pytest.raises(TypeError):
        del m[key]
    assert dict(m) == before


def test_embedded_form_schemas_are_read_only_all_the_way_down():
    form = load(TOY_WORKFLOWS)["region"].forms["region_digest"]  # fresh: this may mutate it
    with pytest.raises(TypeError):
        form["properties"]["intruder"] = {"type": "string"}
    with pytest.raises(TypeError):
        form["properties"]["isian"]["properties"]["note"]["type"] = "integer"
    assert set(form["properties"]) == {"isian"}


def test_definition_set_mapping_is_read_only():
    shipped = load(WORKFLOWS)  # fresh: this test may mutate it
    with pytest.raises(dataclasses.FrozenInstanceError):
        shipped.definitions = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        shipped.definitions["intruder"] = shipped["kecamatan"]  # type: ignore[index]
    assert set(shipped.definitions) == {"kecamatan", "kabkota", "provinsi"}


# --- content hash and snapshot ---------------------------------------------------------------

def test_content_hash_is_stable_across_loads(shipped):
    again = load(WORKFLOWS)
    for d in shipped:
        assert again[d.level].content_hash == d.content_hash
        assert again[d.level] == d
        assert re.fullmatch(r"[0-9a-f]{64}", d.content_hash)
    assert len({d.content_hash for d in shipped}) == 3


def test_content_hash_changes_with_a_value_but_not_a_comment(toy: ToyCopy):
    before = {d.level: d.content_hash for d in load(toy.workflows)}

    toy.edit("district", "# A district files", "# A comment changed. A district files")
    toy.edit("district", "  checker:\n", "  # who checks\n\n  checker:\n")
    toy.edit("district", "    due: \"03-31\"\n", "    due:   \"03-31\"   # end of March\n")
    assert {d.level: d.content_hash for d in load(toy.workflows)} == before

    toy.edit("district", '    due:   "03-31"', '    due:   "03-30"')
    after = {d.level: d.content_hash for d in load(toy.workflows)}
    assert after["district"] != before["district"]
    assert after["region"] == before["region"]


def test_content_hash_changes_with_an_output_form(toy: ToyCopy):
    before = {d.level: d.content_hash for d in load(toy.workflows)}
    form = toy.forms / "region_digest.json"
    schema = json.loads(form.read_text("utf-8"))
    schema["properties"]["isian"]["properties"]["total"] = {"type": "integer", "title": "Total"}
    form.write_text(json.dumps(schema), encoding="utf-8")
    after = {d.level: d.content_hash for d in load(toy.workflows)}
    assert after["region"] != before["region"]
    assert after["district"] == before["district"]


def test_content_hash_changes_with_a_label(toy: ToyCopy):
    before = load(toy.workflows)["region"]
    toy.edit("region", "    name: Region Clerk\n", "    name: Region Clerks\n")
    after = load(toy.workflows)["region"]
    assert after.content_hash != before.content_hash
    assert after != before
    assert after.roles["clerk"].name == "Region Clerks"


def test_from_snapshot_rebuilds_an_equal_definition(shipped):
    for d in shipped:
        rebuilt = Definition.from_snapshot(d.snapshot)
        assert rebuilt == d
        assert rebuilt.content_hash == d.content_hash
        assert rebuilt.snapshot == d.snapshot
        # equal in substance, not only by hash
        assert rebuilt.stages == d.stages
        assert rebuilt.lifecycle == d.lifecycle
        assert dict(rebuilt.roles) == dict(d.roles)
        assert dict(rebuilt.groups) == dict(d.groups)
        assert dict(rebuilt.forms) == dict(d.forms)
        assert rebuilt.scoring == d.scoring
        assert (rebuilt.level, rebuilt.tier, rebuilt.version, rebuilt.title) == (
            d.level, d.tier, d.version, d.title)


def test_definitions_of_different_content_differ(shipped):
    assert shipped["kecamatan"] != shipped["kabkota"]
    assert len({shipped["kecamatan"], shipped["kabkota"], shipped["provinsi"]}) == 3


# --- the toy set: nothing in engine/ knows the juknis ----------------------------------------

@pytest.fixture(scope="module")
def toy_set():
    return load(TOY_WORKFLOWS)


def test_toy_levels(toy_set):
    assert [d.level for d in toy_set] == ["district", "region"]  # children first
    assert toy_set["region"].tier == 1 and toy_set["district"].tier == 2
    assert toy_set.child_of("region") is toy_set["district"]
    assert toy_set.parent_of("district") is toy_set["region"]
    assert toy_set.parent_of("region") is None
    with pytest.raises(KeyError, match="kecamatan"):
        toy_set["kecamatan"]


def test_toy_district_stages(toy_set):
    d = toy_set["district"]
    assert [s.id for s in d.stages] == ["survey", "plan", "review"]
    survey, plan, review = d.stages
    assert (survey.name, survey.group, survey.kind) == ("Field Survey", "intake", "utama")
    assert survey.opens == DayOfYear(1, 1)  # default
    assert survey.due == DayOfYear(3, 31)
    assert survey.after == () and survey.waits_for is None
    assert survey.outputs == ("district_survey",)
    assert (plan.opens, plan.due, plan.after) == (DayOfYear(4, 1), DayOfYear(5, None), ("survey",))
    assert review.kind == "pendukung"
    assert review.after == ("survey", "plan")
    assert d.stage("plan") is plan
    with pytest.raises(KeyError):
        d.stage("analisis_situasi")


def test_toy_defaults_apply_to_stages_without_their_own(toy_set):
    survey, plan, review = toy_set["district"].stages
    assert [(n.days, n.to) for n in survey.reminders] == [(5, (RoleRef("clerk"),))]
    assert [(n.days, n.to) for n in plan.reminders] == [
        (10, (RoleRef("clerk"), RoleRef("checker")))]
    assert [(n.days, n.to) for n in survey.escalations] == [
        (2, (RoleRef("chief"), RoleRef("chief", "parent")))]
    assert [(n.days, tuple(map(str, n.to))) for n in review.escalations] == [
        (1, ("parent:chief", "parent:overseer"))]
    assert review.reminders == survey.reminders


def test_toy_lifecycle(toy_set):
    lc = toy_set["district"].lifecycle
    assert (lc.initial, lc.opens_with, lc.done, lc.on_child_reopened) == (
        "sealed", "unseal", "accepted", "relock")
    assert set(lc.states) == {"sealed", "draft", "filed", "accepted"}
    assert set(lc.triggers) == {"unseal", "file", "accept", "bounce"}
    assert lc.states["filed"].name == "Filed"
    bounce = lc.triggers["bounce"]
    assert (bounce.sources, bounce.dest, bounce.reason_required) == (("filed",), "draft", True)
    assert bounce.by == (RoleRef("checker"),)
    assert lc.triggers["file"].needs_valid_forms is True
    assert lc.triggers["unseal"].by_system and not lc.triggers["file"].by_system
    assert lc.triggers["accept"].by == (RoleRef("checker"), RoleRef("chief"))
    assert toy_set["region"].lifecycle.on_child_reopened == "notify"  # default


def test_toy_roles(toy_set):
    region = toy_set["region"]
    assert set(region.roles) == {"clerk", "checker", "chief", "overseer"}
    assert region.roles["clerk"].name == "Region Clerk"
    assert region.roles["overseer"].supervises is True
    assert region.roles["chief"].count == 1
    assert toy_set["district"].roles["clerk"].count == 2
    assert toy_set.resolve("district", RoleRef("chief", "parent")) == (region, "chief")
    assert toy_set.resolve("region", RoleRef("chief", "parent")) is None


def test_toy_region_waits_for_and_scoring(toy_set):
    region = toy_set["region"]
    collect, assess = region.stages
    wf = collect.waits_for
    assert (wf.level, wf.stage, wf.state, wf.quorum_percent, wf.needs_all) == (
        "district", "plan", "accepted", 50, False)
    # no state given: the child lifecycle's done state, filled in at load time
    assert (assess.waits_for.state, assess.waits_for.quorum_percent) == ("accepted", 100)
    assert assess.waits_for.needs_all
    sc = region.scoring
    assert sc.stage == "assess"
    assert [(c.stage, c.weight, c.when) for c in sc.criteria] == [
        ("collect", 60, "on_time"), ("assess", 40, "done")]
    assert [b.name for b in sc.bands] == ["Gold", "Silver", "Bronze"]
    assert [sc.classify(x) for x in (100, 75, 74.9, 40, 39, 0)] == [
        "Gold", "Gold", "Silver", "Silver", "Bronze", "Bronze"]
    assert toy_set["district"].scoring is None


def test_toy_forms_are_embedded(toy_set):
    assert set(toy_set["region"].forms) == {"region_digest", "region_scorecard"}
    assert set(toy_set["district"].forms) == {"district_survey", "district_plan"}
    assert toy_set["region"].forms["region_digest"]["title"] == "Toy form region_digest"


# --- load() on broken sets, and where it looks -----------------------------------------------

def test_load_raises_definition_error_with_the_findings(toy: ToyCopy):
    toy.edit("district", "    group: intake\n", "    group: intak\n")
    toy.edit("district", 'due: "03-31"', 'due: "02-29"')  # a warning too
    with pytest.raises(DefinitionError) as info:
        load(toy.workflows)
    findings = info.value.findings
    assert [(f.code, f.severity) for f in findings] == [
        ("unknown-group", Severity.ERROR), ("leap-day", Severity.WARNING)]  # errors first
    assert findings == sorted(check([toy.workflows]), key=lambda f: not f.is_error)
    assert "1 error(s)" in str(info.value)
    assert str(findings[0]) in str(info.value)


def test_load_accepts_warnings(toy: ToyCopy):
    toy.edit("district", 'due: "03-31"', 'due: "02-29"')
    definitions = load(toy.workflows)
    assert definitions["district"].stage("survey").due == DayOfYear(2, 29)


def test_load_of_an_empty_directory(tmp_path):
    with pytest.raises(DefinitionError) as info:
        load(tmp_path)
    assert [f.code for f in info.value.findings] == ["no-definitions"]


def test_load_of_a_missing_directory(tmp_path):
    with pytest.raises(DefinitionError) as info:
        load(tmp_path / "nope")
    assert [(f.file, f.line, f.column, f.code) for f in info.value.findings] == [
        (str(tmp_path / "nope"), 1, 1, "missing-directory")]


def test_default_directory_follows_the_environment(monkeypatch):
    monkeypatch.setenv("AKSI_WORKFLOWS", str(TOY_WORKFLOWS))
    assert default_directory() == TOY_WORKFLOWS
    assert {d.level for d in load()} == {"region", "district"}


def test_default_directory_is_the_local_workflows(monkeypatch, tmp_path):
    monkeypatch.delenv("AKSI_WORKFLOWS", raising=False)
    monkeypatch.chdir(WORKFLOWS.parent)
    assert default_directory() == Path("workflows")
    monkeypatch.chdir(tmp_path)  # no ./workflows here: the project's own
    assert default_directory().resolve() == WORKFLOWS.resolve()
