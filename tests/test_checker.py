"""Every finding code of docs/definition-format.md, each provoked by a small broken copy of
the toy definition set and located at the exact line (and column) of the offending node."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from engine.definitions import Finding, Severity, check
import pytest

from engine.definitions import load
from helpers import FOUR_TIERS, TOY_WORKFLOWS, ToyCopy, codes, locate, only

ERROR, WARNING = Severity.ERROR, Severity.WARNING


def assert_at(finding: Finding, file: str, where: tuple[int, int]) -> None:
    """``finding`` is in ``file`` at exactly (line, column) ``where``."""
    assert finding.file == file
    assert (finding.line, finding.column) == where, str(finding)


# --- the toy set itself -------------------------------------------------------------------

def test_toy_set_checks_clean():
    assert check([TOY_WORKFLOWS]) == []


def test_toy_copy_checks_clean(toy):
    assert toy.check() == []


def test_finding_prints_as_file_line_col_severity_code_message(toy):
    toy.edit("district", "    group: intake\n", "    group: intak\n")
    f = only(toy.check(), "unknown-group")
    line, col = toy.locate("district", "group: intak")
    col += len("group: ")
    assert str(f) == (f"{toy.file('district')}:{line}:{col}: error unknown-group: "
                      f"{f.message}")
    assert f.as_dict() == {"file": toy.file("district"), "line": line, "column": col,
                           "severity": "error", "code": "unknown-group", "message": f.message}


# --- yaml-syntax, duplicate-key -----------------------------------------------------------

def test_yaml_syntax(toy):
    toy.edit("district", "    name: Field Survey\n", "    name: Field: Survey\n")
    findings = toy.check()
    f = only(findings, "yaml-syntax", toy.file("district"))
    assert f.severity is ERROR
    assert "mapping values are not allowed here" in f.message
    line, col = toy.locate("district", "name: Field: Survey")
    assert (f.line, f.column) == (line, col + len("name: Field"))
    # nothing else is said about an unparseable file
    assert codes(findings, toy.file("district")) == ["yaml-syntax"]


def test_yaml_syntax_unclosed_flow_sequence(toy):
    toy.edit("district", "    outputs: [district_plan]\n", "    outputs: [district_plan\n")
    f = only(toy.check(), "yaml-syntax", toy.file("district"))
    assert f.severity is ERROR
    assert f.message.startswith("YAML tidak valid: ")
    # the parser notices at the next line, where the sequence should have ended
    assert f.line == toy.locate("district", "outputs: [district_plan")[0] + 1


def test_yaml_limit_alias_bomb(toy):
    # tests/test_yaml_limits.py covers the bounds; here the code and where it points
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))
    toy.write("district", toy.text("district") + bomb)
    findings = toy.check()
    f = only(findings, "yaml-limit", toy.file("district"))
    assert f.severity is ERROR
    assert toy.text("district").splitlines()[f.line - 1][f.column - 1] == "*"
    assert codes(findings, toy.file("district")) == ["yaml-limit"]


def test_duplicate_key(toy):
    toy.edit("district", '    due: "03-31"\n', '    due: "03-31"\n    due: "04-15"\n')
    f = only(toy.check(), "duplicate-key")
    assert f.severity is ERROR
    first = toy.locate("district", 'due: "03-31"')
    assert_at(f, toy.file("district"), toy.locate("district", 'due: "04-15"'))
    assert "kunci 'due' ditulis dua kali" in f.message
    assert f"pertama di baris {first[0]}" in f.message


def test_duplicate_key_in_flow_mapping(toy):
    toy.edit("district", "{name: File, from: draft,", "{name: File, from: draft, name: Kirim,")
    f = only(toy.check(), "duplicate-key")
    line, col = toy.locate("district", "name: Kirim")
    assert (f.line, f.column) == (line, col)
    assert "kunci 'name'" in f.message


# --- schema ---------------------------------------------------------------------------------

def test_schema_unknown_key_with_suggestion(toy):
    toy.edit("district", '    opens: "04-01"\n', '    opnes: "04-01"\n')
    f = only(toy.check(), "schema")
    assert f.severity is ERROR
    assert_at(f, toy.file("district"), toy.locate("district", "opnes:"))
    assert "kunci 'opnes' tidak dikenal; maksud Anda 'opens'?" in f.message
    assert "$.stages[1]" in f.message


def test_schema_unknown_key_without_close_match_lists_known_keys(toy):
    toy.edit("region", "tier: 1\n", "tier: 1\nxyzzy: 3\n")
    f = only(toy.check(), "schema")
    assert_at(f, toy.file("region"), toy.locate("region", "xyzzy"))
    assert "kunci 'xyzzy' tidak dikenal; kunci yang dikenal: " in f.message
    assert "lifecycle" in f.message and "stages" in f.message


def test_schema_missing_required_key(toy):
    toy.edit("district", "    kind: pendukung\n", "")
    f = only(toy.check(), "schema")
    assert f.severity is ERROR
    # located at the stage's mapping: the first key after "- "
    assert_at(f, toy.file("district"), toy.locate("district", "id: review"))
    assert "kunci wajib 'kind' tidak ada" in f.message
    assert "$.stages[2]" in f.message


def test_schema_missing_top_level_key(toy):
    toy.edit("district", "tier: 2\n", "")
    f = only(toy.check(), "schema", toy.file("district"))
    assert_at(f, toy.file("district"), toy.locate("district", "level: district"))
    assert "kunci wajib 'tier' tidak ada" in f.message


def test_schema_bad_date_pattern(toy):
    toy.edit("district", 'due: "11-30"', 'due: "11/30"')
    f = only(toy.check(), "schema")
    assert_at(f, toy.file("district"), toy.locate("district", '"11/30"'))
    assert "'11/30': tanggal harus \"BB-HH\"" in f.message
    assert "$.stages[2].due" in f.message


def test_schema_unquoted_number_date(toy):
    toy.edit("district", 'due: "05"', "due: 05")
    f = only(toy.check(), "schema")
    assert f.severity is ERROR
    line, col = toy.locate("district", "due: 05")
    assert_at(f, toy.file("district"), (line, col + len("due: ")))
    assert "tanggal harus teks dalam tanda kutip" in f.message
    assert "$.stages[1].due" in f.message


def test_schema_unquoted_iso_date(toy):
    toy.edit("district", 'due: "03-31"', "due: 2026-03-31")
    f = only(toy.check(), "schema")
    line, col = toy.locate("district", "2026-03-31")
    assert (f.line, f.column) == (line, col)
    assert "tanggal harus teks dalam tanda kutip" in f.message


def test_schema_bad_type(toy):
    toy.edit("district", 'by: checker, reason: true}', 'by: checker, reason: "true"}')
    f = only(toy.check(), "schema")
    assert_at(f, toy.file("district"), toy.locate("district", '"true"'))
    assert "harus berupa true atau false, bukan teks" in f.message
    assert "$.lifecycle.triggers.bounce.reason" in f.message


def test_schema_bad_type_integer(toy):
    toy.edit("region", "tier: 1\n", "tier: one\n")
    f = only(toy.check(), "schema", toy.file("region"))
    assert_at(f, toy.file("region"), (toy.locate("region", "tier: one")[0],
                                          toy.locate("region", "tier: one")[1] + len("tier: ")))
    assert "harus berupa bilangan bulat, bukan teks" in f.message


def test_schema_bad_enum(toy):
    toy.edit("district", "    kind: pendukung\n", "    kind: optional\n")
    f = only(toy.check(), "schema")
    assert_at(f, toy.file("district"), toy.locate("district", "optional"))
    assert "'optional' tidak diizinkan; pilih salah satu: utama, pendukung" in f.message


def test_schema_bad_id_as_key(toy):
    toy.edit("district", "  checker:\n    name: District Checker\n",
             "  Checker:\n    name: District Checker\n")
    f = only(toy.check(), "schema", toy.file("district"))
    assert_at(f, toy.file("district"), toy.locate("district", "Checker:"))
    assert "nama 'Checker': id hanya boleh huruf kecil" in f.message


def test_schema_bad_quorum(toy):
    toy.edit("region", 'quorum: "50%"', 'quorum: "half"')
    f = only(toy.check(), "schema", toy.file("region"))
    assert_at(f, toy.file("region"), toy.locate("region", '"half"'))
    assert 'kuorum harus "all" atau persentase' in f.message


def test_schema_reports_every_violation_of_a_file(toy):
    toy.edit("district", '    opens: "04-01"\n', '    opnes: "04-01"\n')
    toy.edit("district", 'due: "11-30"', 'due: "11/30"')
    toy.edit("district", 'by: checker, reason: true}', 'by: checker, reason: "true"}')
    toy.edit("district", "  chief:\n    name: District Chief\n    count: 1\n",
             "  chief:\n    name: District Chief\n    count: 0\n")
    findings = [f for f in toy.check() if f.file == toy.file("district")]
    assert [(f.code, f.line) for f in findings] == sorted([
        ("schema", toy.locate("district", "opnes:")[0]),
        ("schema", toy.locate("district", '"11/30"')[0]),
        ("schema", toy.locate("district", '"true"')[0]),
        ("schema", toy.locate("district", "count: 0")[0]),
    ], key=lambda c: c[1])
    assert any("0 terlalu kecil: minimal 1" in f.message for f in findings)


# --- duplicate-id ---------------------------------------------------------------------------

def test_duplicate_stage_id(toy):
    toy.edit("district", "  - id: review\n", "  - id: plan\n")
    f = only(toy.check(), "duplicate-id")
    assert f.severity is ERROR
    first = toy.locate("district", "- id: plan", occurrence=0)
    second = toy.locate("district", "- id: plan", occurrence=1)
    assert_at(f, toy.file("district"), (second[0], second[1] + len("- id: ")))
    assert f"id tahap 'plan' sudah dipakai di baris {first[0]}" in f.message


def test_duplicate_level_in_two_files(toy):
    shutil.copy(toy.path("district"), toy.path("district_copy"))
    findings = toy.check()
    f = only(findings, "duplicate-id")
    assert f.severity is ERROR
    line, col = toy.locate("district_copy", "level: district")
    assert_at(f, toy.file("district_copy"), (line, col + len("level: ")))
    assert f"tingkat 'district' sudah didefinisikan di {toy.file('district')}" in f.message
    assert codes(findings) == ["duplicate-id"]  # not also a duplicate tier


def test_duplicate_tier_in_two_files(toy):
    text = toy.text("district").replace("level: district\n", "level: ward\n")
    toy.write("ward", text)
    f = only(toy.check(), "duplicate-id")
    line, col = toy.locate("ward", "tier: 2")
    assert_at(f, toy.file("ward"), (line, col + len("tier: ")))
    assert "tier 2 sudah dipakai tingkat 'district'" in f.message
    assert toy.file("district") in f.message


# --- unknown-stage --------------------------------------------------------------------------

def test_unknown_stage_in_after(toy):
    toy.edit("district", "    after: [survey]\n", "    after: [surve]\n")
    f = only(toy.check(), "unknown-stage")
    assert f.severity is ERROR
    assert_at(f, toy.file("district"), toy.locate("district", "surve]"))
    assert ("tahap 'plan' menunggu tahap 'surve' yang tidak ada di tingkat district; "
            "maksud Anda 'survey'?") in f.message


def test_unknown_stage_in_waits_for(toy):
    toy.edit("region", "      stage: plan\n", "      stage: plam\n")
    f = only(toy.check(), "unknown-stage")
    assert_at(f, toy.file("region"), toy.locate("region", "plam"))
    assert "tingkat 'district' tidak punya tahap 'plam'; maksud Anda 'plan'?" in f.message


def test_unknown_stage_in_scoring(toy):
    toy.edit("region", "  stage: assess\n", "  stage: asess\n")
    toy.edit("region", "{stage: collect, weight: 60", "{stage: colect, weight: 60")
    findings = [f for f in toy.check() if f.code == "unknown-stage"]
    assert len(findings) == 2
    by_line = {f.line: f for f in findings}
    stage = by_line[toy.locate("region", "asess")[0]]
    criterion = by_line[toy.locate("region", "colect")[0]]
    assert stage.column == toy.locate("region", "asess")[1]
    assert criterion.column == toy.locate("region", "colect")[1]
    assert "penilaian memakai tahap 'asess' yang tidak ada di tingkat region" in stage.message
    assert "maksud Anda 'collect'?" in criterion.message


# --- unknown-role ---------------------------------------------------------------------------

def test_unknown_role_in_trigger(toy):
    toy.edit("district", "to: filed, by: clerk,", "to: filed, by: clerc,")
    f = only(toy.check(), "unknown-role")
    assert f.severity is ERROR
    assert_at(f, toy.file("district"), toy.locate("district", "clerc"))
    assert "peran 'clerc' tidak ada di 'roles'; maksud Anda 'clerk'?" in f.message


def test_unknown_role_in_trigger_list(toy):
    toy.edit("district", "by: [checker, chief]", "by: [checker, chef]")
    f = only(toy.check(), "unknown-role")
    assert_at(f, toy.file("district"), toy.locate("district", "chef"))


def test_unknown_role_in_reminder(toy):
    toy.edit("district", "to: [clerk, checker]", "to: [clerk, cheker]")
    f = only(toy.check(), "unknown-role")
    assert_at(f, toy.file("district"), toy.locate("district", "cheker"))
    assert "peran 'cheker' tidak ada di 'roles'; maksud Anda 'checker'?" in f.message


def test_unknown_role_of_parent_level(toy):
    toy.edit("district", '"parent:overseer"', '"parent:overlord"')
    f = only(toy.check(), "unknown-role")
    assert_at(f, toy.file("district"), toy.locate("district", '"parent:overlord"'))
    assert "peran 'overlord' tidak ada di 'roles' tingkat 'region'" in f.message


def test_unknown_role_of_named_level(toy):
    toy.edit("district", '"parent:overseer"', '"region:auditor"')
    f = only(toy.check(), "unknown-role")
    assert_at(f, toy.file("district"), toy.locate("district", '"region:auditor"'))
    assert "peran 'auditor' tidak ada di 'roles' tingkat 'region'" in f.message


def test_named_level_role_resolves(toy):
    toy.edit("district", '"parent:overseer"', '"region:overseer"')
    assert toy.check() == []


def test_system_cannot_receive_reminders(toy):
    toy.edit("district", "    - {before: 5, to: [clerk]}\n", "    - {before: 5, to: [system]}\n")
    f = only(toy.check(), "unknown-role")
    assert_at(f, toy.file("district"), toy.locate("district", "system]"))
    assert "'system' hanya boleh menjalankan pemicu" in f.message


def test_opening_trigger_must_be_run_by_system(toy):
    toy.edit("district", "to: draft, by: system}", "to: draft, by: clerk}")
    f = only(toy.check(), "unknown-role")
    line, col = toy.locate("district", "to: draft, by: clerk}")
    assert (f.line, f.column) == (line, col + len("to: draft, by: "))
    assert "pemicu pembuka 'unseal' dijalankan mesin" in f.message


# --- unknown-level --------------------------------------------------------------------------

def test_unknown_level_in_waits_for(toy):
    toy.edit("region", "      level: district\n      stage: plan\n",
             "      level: county\n      stage: plan\n")
    f = only(toy.check(), "unknown-level")
    assert f.severity is ERROR
    assert_at(f, toy.file("region"), toy.locate("region", "county"))
    assert "tingkat 'county' tidak ada di definisi yang dimuat" in f.message


def test_parent_role_at_top_tier(toy):
    toy.edit("region", "    - {after: 1, to: [chief]}\n",
             '    - {after: 1, to: [chief, "parent:chief"]}\n')
    f = only(toy.check(), "unknown-level")
    assert_at(f, toy.file("region"), toy.locate("region", '"parent:chief"'))
    assert "'parent:chief': tingkat induk (tier lebih kecil satu) tidak ada" in f.message


def test_parent_role_when_parent_level_not_loaded(toy):
    toy.path("region").unlink()
    findings = toy.check()
    # the defaults escalation's "parent:chief", the review stage's "parent:chief" and
    # "parent:overseer": three findings, each at its own list item
    hits = [(f.line, f.column) for f in findings if f.code == "unknown-level"]
    assert hits == [
        toy.locate("district", '"parent:chief"]}'),
        toy.locate("district", '"parent:chief", '),
        toy.locate("district", '"parent:overseer"'),
    ]
    assert codes(findings) == ["unknown-level"] * 3


def test_unknown_named_level_in_role(toy):
    toy.edit("district", '"parent:overseer"', '"county:overseer"')
    f = only(toy.check(), "unknown-level")
    assert_at(f, toy.file("district"), toy.locate("district", '"county:overseer"'))
    assert "'county:overseer': tingkat 'county' tidak ada" in f.message


# --- unknown-state --------------------------------------------------------------------------

def test_unknown_initial_state(toy):
    toy.edit("district", "  initial: sealed\n", "  initial: seal\n")
    findings = [f for f in toy.check() if f.code == "unknown-state"]
    assert all(f.severity is ERROR for f in findings)
    line, col = toy.locate("district", "initial: seal")
    f = next(f for f in findings if f.line == line)
    assert f.column == col + len("initial: ")
    assert "status 'seal' tidak ada di 'states'; maksud Anda 'sealed'?" in f.message
    # and the opening trigger no longer starts from the initial state
    g = next(f for f in findings if f.line != line)
    assert g.line == toy.locate("district", "unseal: {name: Unseal, from: sealed")[0]
    assert "harus berangkat dari status awal 'seal'" in g.message


def test_unknown_done_state(toy):
    toy.edit("district", "  done: accepted\n", "  done: acepted\n")
    f = only(toy.check(), "unknown-state")
    line, col = toy.locate("district", "done: acepted")
    assert_at(f, toy.file("district"), (line, col + len("done: ")))
    assert "status 'acepted' tidak ada di 'states'; maksud Anda 'accepted'?" in f.message


def test_unknown_state_in_trigger_from_and_to(toy):
    toy.edit("district", "file: {name: File, from: draft, to: filed,",
             "file: {name: File, from: drat, to: filled,")
    findings = [f for f in toy.check() if f.code == "unknown-state"]
    assert [(f.line, f.column) for f in findings] == [
        toy.locate("district", "drat"), toy.locate("district", "filled")]
    assert "pemicu 'file' memakai status 'drat'" in findings[0].message
    assert "pemicu 'file' memakai status 'filled'" in findings[1].message


def test_unknown_state_in_trigger_from_list(toy):
    toy.edit("district", "accept: {name: Accept, from: filed,",
             "accept: {name: Accept, from: [draft, filde],")
    f = only(toy.check(), "unknown-state")
    assert_at(f, toy.file("district"), toy.locate("district", "filde"))


def test_unknown_state_in_waits_for(toy):
    toy.edit("region", "      state: accepted\n", "      state: approved\n")
    f = only(toy.check(), "unknown-state")
    assert_at(f, toy.file("region"), toy.locate("region", "approved"))
    assert "siklus tingkat 'district' tidak punya status 'approved'" in f.message


# --- unknown-group, unknown-trigger ---------------------------------------------------------

def test_unknown_group(toy):
    toy.edit("district", "    group: intake\n", "    group: intak\n")
    f = only(toy.check(), "unknown-group")
    assert f.severity is ERROR
    line, col = toy.locate("district", "group: intak")
    assert_at(f, toy.file("district"), (line, col + len("group: ")))
    assert "kelompok 'intak' tidak dideklarasikan di 'groups'; maksud Anda 'intake'?" in f.message


def test_unknown_trigger(toy):
    toy.edit("district", "  opens_with: unseal\n", "  opens_with: unlock\n")
    f = only(toy.check(), "unknown-trigger")
    assert f.severity is ERROR
    line, col = toy.locate("district", "opens_with: unlock")
    assert_at(f, toy.file("district"), (line, col + len("opens_with: ")))
    assert "pemicu 'unlock' tidak ada di 'triggers'" in f.message


def test_unknown_trigger_in_not_by(toy):
    toy.edit("district", "not_by: file}", "not_by: [unseal, fil]}")
    f = only(toy.check(), "unknown-trigger")
    assert f.severity is ERROR
    line, col = toy.locate("district", "fil]}")
    assert_at(f, toy.file("district"), (line, col))
    assert ("'not_by' pemicu 'accept' menyebut pemicu 'fil' yang tidak ada di 'triggers'"
            in f.message)
    assert "maksud Anda 'file'?" in f.message


def test_unknown_trigger_in_not_by_as_one_id(toy):
    toy.edit("district", "not_by: file}", "not_by: filed}")
    f = only(toy.check(), "unknown-trigger")
    line, col = toy.locate("district", "not_by: filed")
    assert_at(f, toy.file("district"), (line, col + len("not_by: ")))


# --- a stage's own `by` (checks/stage_roles.py) ----------------------------------------------

PLAN = "    outputs: [district_plan]\n"


def test_stage_by_checks_clean(toy):
    toy.edit("district", PLAN, PLAN + '    by: {accept: chief, bounce: [chief, "parent:chief"]}\n')
    assert toy.check() == []


def test_stage_by_unknown_trigger(toy):
    toy.edit("district", PLAN, PLAN + "    by:\n      accpet: chief\n")
    f = only(toy.check(), "unknown-trigger")
    assert f.severity is ERROR
    assert_at(f, toy.file("district"), toy.locate("district", "accpet: chief"))
    assert ("'by' tahap 'plan' menyebut pemicu 'accpet' yang tidak ada di 'triggers'; "
            "maksud Anda 'accept'?") in f.message


def test_stage_by_may_not_take_the_opening_trigger(toy):
    toy.edit("district", PLAN, PLAN + "    by:\n      unseal: chief\n")
    f = only(toy.check(), "unknown-trigger")
    assert_at(f, toy.file("district"), toy.locate("district", "unseal: chief"))
    assert "pemicu pembuka 'unseal' selalu dijalankan mesin" in f.message


def test_stage_by_unknown_role_in_a_list(toy):
    toy.edit("district", PLAN, PLAN + "    by:\n      accept: [chief, cheif]\n")
    f = only(toy.check(), "unknown-role")
    assert f.severity is ERROR
    line, col = toy.locate("district", "accept: [chief, cheif]")
    assert_at(f, toy.file("district"), (line, col + len("accept: [chief, ")))
    assert "peran 'cheif' tidak ada di 'roles'; maksud Anda 'chief'?" in f.message


def test_stage_by_unknown_role_of_the_parent_level(toy):
    toy.edit("district", PLAN, PLAN + '    by: {accept: "parent:overser"}\n')
    f = only(toy.check(), "unknown-role")
    line, col = toy.locate("district", '"parent:overser"')
    assert_at(f, toy.file("district"), (line, col))
    assert "peran 'overser' tidak ada di 'roles' tingkat 'region'; maksud Anda 'overseer'?" \
        in f.message


def test_stage_by_unknown_level(toy):
    toy.edit("district", PLAN, PLAN + '    by: {accept: "nation:chief"}\n')
    f = only(toy.check(), "unknown-level")
    assert_at(f, toy.file("district"), toy.locate("district", '"nation:chief"'))


def test_stage_by_system_is_refused(toy):
    toy.edit("district", PLAN, PLAN + "    by: {accept: system}\n")
    f = only(toy.check(), "unknown-role")
    line, col = toy.locate("district", "accept: system")
    assert_at(f, toy.file("district"), (line, col + len("accept: ")))
    assert "'system' hanya menjalankan pemicu pembuka" in f.message


def test_stage_by_shape_is_the_schemas(toy):
    toy.edit("district", PLAN, PLAN + "    by: {accept: []}\n")
    f = only(toy.check(), "schema")
    assert_at(f, toy.file("district"), toy.locate("district", "[]}"))


# --- missing-form, bad-form -----------------------------------------------------------------

def test_missing_form(toy):
    toy.edit("district", "outputs: [district_plan]", "outputs: [district_plan, district_annex]")
    f = only(toy.check(), "missing-form")
    assert f.severity is ERROR
    assert_at(f, toy.file("district"), toy.locate("district", "district_annex"))
    assert "skema formulir 'district_annex' tidak ditemukan" in f.message
    assert str(toy.forms.resolve() / "district_annex") in f.message


def test_missing_form_file_deleted(toy):
    (toy.forms / "region_digest.json").unlink()
    f = only(toy.check(), "missing-form")
    assert_at(f, toy.file("region"), toy.locate("region", "region_digest"))


def test_forms_folder_is_relative_to_the_yaml_file(toy):
    (toy.root / "elsewhere").mkdir()
    toy.edit("region", "tier: 1\n", "tier: 1\nforms: ../elsewhere\n")
    findings = toy.check()
    assert codes(findings) == ["missing-form", "missing-form"]
    assert all(f.file == toy.file("region") for f in findings)


def test_bad_form_not_json(toy):
    (toy.forms / "district_plan.json").write_text("{not json", encoding="utf-8")
    f = only(toy.check(), "bad-form")
    assert f.severity is ERROR
    assert_at(f, toy.file("district"), toy.locate("district", "district_plan]"))
    assert "skema formulir 'district_plan' tidak valid" in f.message


def test_bad_form_not_a_schema(toy):
    (toy.forms / "region_scorecard.json").write_text(json.dumps({"type": 5}), encoding="utf-8")
    f = only(toy.check(), "bad-form")
    assert_at(f, toy.file("region"), toy.locate("region", "region_scorecard"))
    assert "skema formulir 'region_scorecard' tidak valid" in f.message


# --- cycle ----------------------------------------------------------------------------------

def test_cycle_is_printed(toy):
    toy.edit("district", '    due: "03-31"\n', '    due: "03-31"\n    after: [review]\n')
    f = only(toy.check(), "cycle")
    assert f.severity is ERROR
    assert_at(f, toy.file("district"), toy.locate("district", "review]"))
    assert "survey → review → survey" in f.message


def test_cycle_of_three(toy):
    toy.edit("district", '    due: "03-31"\n', '    due: "03-31"\n    after: [review]\n')
    toy.edit("district", "    after: [survey, plan]\n", "    after: [plan]\n")
    f = only(toy.check(), "cycle")
    assert "survey → review → plan → survey" in f.message
    assert_at(f, toy.file("district"), toy.locate("district", "review]"))


def test_self_cycle(toy):
    toy.edit("district", "    after: [survey]\n", "    after: [plan, survey]\n")
    f = only(toy.check(), "cycle")
    line, col = toy.locate("district", "after: [plan, survey]")
    assert (f.line, f.column) == (line, col + len("after: ["))
    assert "plan → plan" in f.message


# --- impossible-date, opens-after-due, leap-day ---------------------------------------------

def test_impossible_dates(toy):
    toy.edit("district", 'due: "03-31"', 'due: "02-30"')
    toy.edit("district", 'due: "05"', 'due: "13"')
    findings = [f for f in toy.check() if f.code == "impossible-date"]
    assert all(f.severity is ERROR for f in findings)
    assert [(f.line, f.column) for f in findings] == [
        toy.locate("district", '"02-30"'), toy.locate("district", '"13"')]
    assert "'02-30': tanggal 30 Februari tidak ada (Februari hanya sampai tanggal 29)" \
        in findings[0].message
    assert "'13': bulan 13 tidak ada" in findings[1].message


def test_impossible_opening_date(toy):
    toy.edit("district", 'opens: "11-01"', 'opens: "11-31"')
    f = only(toy.check(), "impossible-date")
    assert_at(f, toy.file("district"), toy.locate("district", '"11-31"'))
    assert "November hanya sampai tanggal 30" in f.message


def test_opens_after_due(toy):
    toy.edit("district", 'opens: "04-01"', 'opens: "06-01"')
    f = only(toy.check(), "opens-after-due")
    assert f.severity is ERROR
    assert_at(f, toy.file("district"), toy.locate("district", '"06-01"'))
    assert "tahap 'plan' dibuka 1 Juni, sesudah tenggatnya sendiri (akhir Mei)" in f.message


def test_opens_on_due_day_is_fine(toy):
    toy.edit("district", 'opens: "04-01"', 'opens: "05-31"')
    assert toy.check() == []


def test_leap_day(toy):
    toy.edit("district", 'due: "03-31"', 'due: "02-29"')
    findings = toy.check()
    f = only(findings, "leap-day")
    assert f.severity is WARNING
    assert_at(f, toy.file("district"), toy.locate("district", '"02-29"'))
    assert "29 Februari hanya ada pada tahun kabisat" in f.message
    assert codes(findings) == ["leap-day"]


# --- not-child-level ------------------------------------------------------------------------

def test_waits_for_parent_level(toy):
    toy.edit("district", '    due: "03-31"\n',
             '    due: "03-31"\n    waits_for:\n      level: region\n      stage: collect\n')
    f = only(toy.check(), "not-child-level")
    assert f.severity is ERROR
    line, col = toy.locate("district", "level: region")
    assert_at(f, toy.file("district"), (line, col + len("level: ")))
    assert "'district' tidak punya tingkat anak yang dimuat, bukan 'region'" in f.message


def test_waits_for_own_level(toy):
    toy.edit("region", "      level: district\n      stage: review\n",
             "      level: region\n      stage: collect\n")
    f = only(toy.check(), "not-child-level")
    line, col = toy.locate("region", "      level: region")
    assert (f.line, f.column) == (line, col + len("      level: "))
    assert "tingkat anak dari 'region' adalah 'district', bukan 'region'" in f.message


# --- unreachable-state, dead-end-state ------------------------------------------------------

def test_unreachable_state(toy):
    toy.edit("district", "    accepted: {name: Accepted}\n",
             "    accepted: {name: Accepted}\n    limbo: {name: Limbo}\n")
    f = only(toy.check(), "unreachable-state")
    assert f.severity is ERROR
    assert_at(f, toy.file("district"), toy.locate("district", "limbo:"))
    assert "status 'limbo' tidak dapat dicapai dari status awal 'sealed'" in f.message


def test_dead_end_state(toy):
    toy.edit("district", "    accepted: {name: Accepted}\n",
             "    accepted: {name: Accepted}\n    shelved: {name: Shelved}\n")
    toy.edit("district", "    bounce:",
             "    shelve: {name: Shelve, from: filed, to: shelved, by: chief}\n    bounce:")
    f = only(toy.check(), "dead-end-state")
    assert f.severity is ERROR
    assert_at(f, toy.file("district"), toy.locate("district", "shelved: {"))
    assert "dari status 'shelved' tahap tidak pernah bisa mencapai 'accepted'" in f.message


# --- calendar warnings ----------------------------------------------------------------------

def test_due_before_predecessor(toy):
    toy.edit("district", 'due: "03-31"', 'due: "06-15"')
    findings = toy.check()
    f = only(findings, "due-before-predecessor")
    assert f.severity is WARNING
    line, col = toy.locate("district", 'due: "05"')
    assert_at(f, toy.file("district"), (line, col + len("due: ")))
    assert ("tahap 'plan' bertenggat akhir Mei, padahal baru dapat dimulai sesudah tahap "
            "'survey' disetujui, yang bertenggat 15 Juni") in f.message
    assert not any(f.is_error for f in findings)


def test_due_before_child(toy):
    toy.edit("region", 'due: "06-30"', 'due: "05-20"')
    f = only(toy.check(), "due-before-child")
    assert f.severity is WARNING
    assert_at(f, toy.file("region"), toy.locate("region", '"05-20"'))
    assert ("tahap 'collect' bertenggat 20 Mei, sebelum tenggat tahap 'plan' seluruh "
            "district yang ditunggunya (akhir Mei)") in f.message


def test_due_before_child_in_a_common_year_only(toy):
    # "02-28" is before "02" in leap years only: still a contradiction
    toy.edit("district", 'opens: "04-01"\n    due: "05"', 'due: "02"')
    toy.edit("region", 'opens: "05-15"\n    due: "06-30"', 'due: "02-28"')
    f = only(toy.check(), "due-before-child")
    assert_at(f, toy.file("region"), toy.locate("region", '"02-28"'))


def test_no_slack(toy):
    toy.edit("region", 'due: "06-30"', 'due: "05-31"')
    f = only(toy.check(), "no-slack")
    assert f.severity is WARNING
    assert_at(f, toy.file("region"), toy.locate("region", '"05-31"'))
    assert ("tahap 'collect' bertenggat 31 Mei, hari yang sama dengan tenggat tahap 'plan' "
            "seluruh district yang ditunggunya") in f.message


def test_reminder_outside_year_from_defaults(toy):
    toy.edit("district", 'due: "03-31"', 'due: "01-03"')
    f = only(toy.check(), "reminder-outside-year")
    assert f.severity is WARNING
    line, col = toy.locate("district", "- {before: 5, to: [clerk]}")
    assert_at(f, toy.file("district"), (line, col + len("- {before: ")))
    assert "pengingat 5 hari sebelum tenggat tahap 'survey' (3 Januari) jatuh sebelum " \
        "1 Januari" in f.message


def test_reminder_outside_year_own(toy):
    toy.edit("district", "- {before: 10, to: [clerk, checker]}",
             "- {before: 200, to: [clerk, checker]}")
    f = only(toy.check(), "reminder-outside-year")
    assert_at(f, toy.file("district"), toy.locate("district", "200"))
    assert "pengingat 200 hari sebelum tenggat tahap 'plan' (akhir Mei)" in f.message


def test_escalation_after_year_end_is_allowed(toy):
    # docs: "escalations after 31 December are allowed: a late case goes on into January";
    # region's assess stage, due 31 December, keeps the defaults' escalation 1 day after
    toy.edit("region", 'due: "12-15"', 'due: "12"')
    assert toy.check() == []


def test_reminder_on_new_year_day_is_inside_year(toy):
    # 2 days before 3 January is 1 January: still in the year
    toy.edit("district", 'due: "03-31"', 'due: "01-03"')
    toy.edit("district", "- {before: 5, to: [clerk]}", "- {before: 2, to: [clerk]}")
    assert toy.check() == []


def test_scoring_bands(toy):
    toy.edit("region", "{name: Bronze, min: 0}", "{name: Bronze, min: 10}")
    f = only(toy.check(), "scoring-bands")
    assert f.severity is WARNING
    assert_at(f, toy.file("region"), toy.locate("region", "- {name: Gold"))
    assert "tidak ada kelas dengan min 0: wilayah dengan nilai di bawah 10" in f.message


# --- no-definitions -------------------------------------------------------------------------

def test_no_definitions(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.txt").write_text("not a definition")
    findings = check([empty])
    assert len(findings) == 1
    f = findings[0]
    assert (f.file, f.line, f.column, f.severity, f.code) == (
        str(empty), 1, 1, ERROR, "no-definitions")
    assert "tidak ada berkas definisi" in f.message


# --- all findings at once -------------------------------------------------------------------

def test_every_error_of_a_file_is_reported(toy):
    toy.edit("district", "    group: intake\n", "    group: intak\n")
    toy.edit("district", "    after: [survey]\n", "    after: [surve]\n")
    toy.edit("district", 'due: "11-30"', 'due: "11-31"')
    toy.edit("district", "to: [clerk, checker]", "to: [clerk, cheker]")
    toy.edit("district", "outputs: [district_survey]", "outputs: [district_surveys]")
    toy.edit("region", "  opens_with: unseal\n", "  opens_with: unlock\n")
    findings = toy.check()
    assert [(f.file, f.line, f.code) for f in findings] == sorted([
        (toy.file("district"), toy.locate("district", "group: intak")[0], "unknown-group"),
        (toy.file("district"), toy.locate("district", "surve]")[0], "unknown-stage"),
        (toy.file("district"), toy.locate("district", "11-31")[0], "impossible-date"),
        (toy.file("district"), toy.locate("district", "cheker")[0], "unknown-role"),
        (toy.file("district"), toy.locate("district", "district_surveys")[0], "missing-form"),
        (toy.file("region"), toy.locate("region", "unlock")[0], "unknown-trigger"),
    ])


def test_errors_and_warnings_together(toy):
    toy.edit("district", 'due: "03-31"', 'due: "02-29"')
    toy.edit("district", "    group: intake\n", "    group: intak\n")
    toy.edit("region", "{name: Bronze, min: 0}", "{name: Bronze, min: 10}")
    findings = toy.check()
    assert sorted((f.code, f.severity) for f in findings) == [
        ("leap-day", WARNING), ("scoring-bands", WARNING), ("unknown-group", ERROR)]


def test_checking_one_file_uses_its_siblings(toy):
    toy.edit("district", "    group: intake\n", "    group: intak\n")
    toy.edit("region", "    group: judge\n", "    group: judg\n")
    findings = check([toy.path("district")])
    # only the named file's findings; "parent:chief" resolves through region.yaml beside it
    assert [(f.file, f.code) for f in findings] == [(toy.file("district"), "unknown-group")]
    both = check([toy.path("district"), toy.path("region")])
    assert sorted((f.file, f.code) for f in both) == [
        (toy.file("district"), "unknown-group"), (toy.file("region"), "unknown-group")]


def test_a_broken_sibling_does_not_blame_the_file_checked(toy):
    # region.yaml is fine; district.yaml beside it does not parse. Checking region.yaml
    # alone must not report errors in region.yaml that are really district.yaml's.
    toy.edit("district", "    name: Field Survey\n", "    name: Field: Survey\n")
    assert check([toy.path("region")]) == []


def test_every_documented_code_is_tested():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "definition-format.md").read_text()
    documented = re.findall(r"^\| `([a-z-]+)` \| (error|warning) \|", docs, re.MULTILINE)
    assert len(documented) >= 25
    source = Path(__file__).read_text(encoding="utf-8")
    for code, severity in documented:
        assert f'"{code}"' in source, f"no test provokes {code}"


def test_definition_changed_when_running_cases_use_another_version(tmp_path):
    """`aksi check` compares the files with the definitions running cases pinned."""
    from click.testing import CliRunner

    from engine.cli import main

    toy_dir = tmp_path / "toy"
    shutil.copytree(Path(__file__).parent / "fixtures" / "toy", toy_dir)
    workflows = toy_dir / "workflows"
    db = f"sqlite:///{tmp_path / 'a.db'}"
    runner = CliRunner()
    base = ["--db", db, "--workflows", str(workflows)]
    for args in (["db", "upgrade"], ["regions", "load", "--province", "19", "--no-desa"],
                 ["year", "start", "2026"]):
        result = runner.invoke(main, base + args)
        assert result.exit_code == 0, result.output
    clean = runner.invoke(main, base + ["check"])
    assert clean.exit_code == 0 and "definition-changed" not in clean.output

    district = workflows / "district.yaml"
    text = district.read_text(encoding="utf-8")
    due = re.search(r'due: "(\d\d-\d\d|\d\d)"', text)
    district.write_text(text.replace(due.group(0), 'due: "12-30"', 1), encoding="utf-8")
    changed = runner.invoke(main, base + ["check", "--json"])
    assert changed.exit_code == 0, changed.output
    findings = [f for f in json.loads(changed.stdout) if f["code"] == "definition-changed"]
    assert len(findings) == 1
    (finding,) = findings
    assert finding["severity"] == "warning"
    assert finding["file"].endswith("district.yaml")
    assert finding["line"] == text.splitlines().index("level: district") + 1
    assert "2026" in finding["message"]
    assert "'aksi year migrate 2026'" in finding["message"]
    assert runner.invoke(main, base + ["check", "--strict"]).exit_code == 1


# --- forms: shape, owners, rules files -----------------------------------------------------

def _write_form(toy, name: str, schema: dict) -> tuple[Path, str]:
    path = toy.forms / f"{name}.json"
    text = json.dumps(schema, indent=2)
    path.write_text(text, encoding="utf-8")
    return path, text


def _survey(**extra_fields) -> dict:
    fields = {"note": {"type": "string", "title": "Catatan"}, **extra_fields}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "title": "Survei", "properties": {
                "isian": {"type": "object", "title": "Isian", "properties": fields}}}


def _at(text: str, needle: str) -> tuple[int, int]:
    from helpers import locate

    return locate(text, needle)


def test_form_shape(toy):
    schema = _survey()
    schema["properties"]["loose"] = {"type": "string"}
    schema["properties"]["isian"]["properties"]["nested"] = {
        "type": "object", "title": "N", "properties": {"a": {"type": "string"}}}
    path, text = _write_form(toy, "district_survey", schema)
    found = [f for f in toy.check() if f.code == "form-shape"]
    assert all(f.file == str(path) and f.severity is ERROR for f in found)
    loose, nested = _at(text, '"loose": {'), _at(text, '"nested": {')
    assert sorted((f.line, f.column) for f in found) == sorted([  # at the values
        (loose[0], loose[1] + len('"loose": ')), (nested[0], nested[1] + len('"nested": '))])


def _with_units(toy) -> None:
    toy.edit("district", "  clerk:\n    name: District Clerk\n",
             "  clerk:\n    name: District Clerk\n    units: [Front, Back]\n")


def test_unknown_unit(toy):
    _with_units(toy)
    path, text = _write_form(toy, "district_survey", _survey(
        count={"type": "integer", "title": "Jumlah", "x-unit": "Middle"}))
    f = only(toy.check(), "unknown-unit")
    assert f.file == str(path) and "'Middle'" in f.message
    line, col = _at(text, '"x-unit": "Middle"')
    assert (f.line, f.column) == (line, col + len('"x-unit": '))
    toy.edit("district", "    outputs: [district_survey]\n",
             "    outputs: [district_survey]\n    parts: [Front, Side]\n")
    assert_at(only([g for g in toy.check() if g.file == toy.file("district")], "unknown-unit"),
              toy.file("district"), toy.locate("district", "Side"))


def test_unowned_field_and_parts_without_lifecycle(toy):
    _with_units(toy)
    path, text = _write_form(toy, "district_survey", _survey(
        count={"type": "integer", "title": "Jumlah", "x-unit": "Front"}))
    toy.edit("district", "    outputs: [district_survey]\n",
             "    outputs: [district_survey]\n    parts: [Front, Back]\n")
    findings = toy.check()
    f = only(findings, "unowned-field")
    assert f.file == str(path) and "'isian.note'" in f.message
    line, col = _at(text, '"note": {')
    assert (f.line, f.column) == (line, col + len('"note": '))
    g = only(findings, "parts-without-lifecycle")
    line, col = toy.locate("district", "parts: [Front, Back]")
    assert_at(g, toy.file("district"), (line, col + len("parts: ")))
    toy.edit("district", "  on_child_reopened: relock\n",
             "  on_child_reopened: relock\n  parts:\n    all: [file, accpt]\n")
    h = only(toy.check(), "unknown-trigger")
    assert_at(h, toy.file("district"), toy.locate("district", "accpt"))


def _rules(toy, text: str) -> tuple[Path, str]:
    path = toy.forms / "district_survey.rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def test_rules_files_are_checked_where_they_are_wrong(toy):
    _write_form(toy, "district_survey", _survey(
        count={"type": "integer", "title": "Jumlah"}))
    path, text = _rules(toy, "\n".join([
        "form: district_surve",
        "rules:",
        "  - id: a",
        "    section: isain",
        "    check: {\"<=\": [{var: count}, 3]}",
        "  - id: b",
        "    section: isian",
        "    check: {\"<=\": [{var: cont}, 3]}",
        "  - id: c",
        "    section: isian",
        "    check: {\"<=\": [{var: note}, 3]}",
        "  - id: d",
        "    section: isian",
        "    check: {\"sqrt\": [{var: count}]}",
        ""]))
    findings = [f for f in toy.check() if f.file == str(path)]
    got = sorted((f.code, f.line, f.column) for f in findings)
    line_of = {n: i + 1 for i, n in enumerate(text.splitlines())}
    assert got == sorted([
        ("form-rules", 1, 7),
        ("unknown-section", line_of["    section: isain"], 14),
        ("unknown-field", line_of['    check: {"<=": [{var: cont}, 3]}'], 12),
        ("bad-rule", line_of['    check: {"<=": [{var: note}, 3]}'], 12),
        ("bad-rule", line_of['    check: {"sqrt": [{var: count}]}'], 12),
    ])
    by = {f.line: f.message for f in findings}
    assert "isian 'cont' tidak ada" in by[line_of['    check: {"<=": [{var: cont}, 3]}']]
    assert "teks" in by[line_of['    check: {"<=": [{var: note}, 3]}']]
    assert "'sqrt' tidak dikenal" in by[line_of['    check: {"sqrt": [{var: count}]}']]
    _rules(toy, "form: district_survey\nrulez: []\n")
    f = only(toy.check(), "form-rules")
    assert (f.line, f.column) == (2, 1) and "'rulez'" in f.message and "'rules'" in f.message


def test_unknown_form_in_a_scoring_measure(toy):
    toy.edit("region", "    - {stage: assess, weight: 40}\n",
             "    - {stage: assess, weight: 40}\n"
             "    - {name: Data, weight: 10, measure: {rows: {form: region_digst, section: isian}}}\n")
    f = only(toy.check(), "unknown-form")
    assert_at(f, toy.file("region"), toy.locate("region", "region_digst"))


# --- migrate: block (aksi year migrate) ---------------------------------------------------

MIGRATE_AT = "\nstages:\n"


def test_migrate_block_well_formed_checks_clean(toy):
    toy.edit("district", MIGRATE_AT, "\nmigrate:\n  states: {returned: draft}\n"
             "  stages: {old_survey: survey}\n\nstages:\n")
    assert toy.check() == []


def test_migrate_to_a_state_that_does_not_exist(toy):
    toy.edit("district", MIGRATE_AT, "\nmigrate:\n  states: {returned: draf}\n\nstages:\n")
    f = only(toy.check(), "unknown-state")
    assert_at(f, toy.file("district"), toy.locate("district", "draf}"))
    assert "'draf'" in f.message and "maksud Anda 'draft'" in f.message


def test_migrate_to_a_stage_that_does_not_exist(toy):
    toy.edit("district", MIGRATE_AT, "\nmigrate:\n  stages:\n    old_survey: surve\n\nstages:\n")
    f = only(toy.check(), "unknown-stage")
    line, col = toy.locate("district", "old_survey: surve")
    assert_at(f, toy.file("district"), (line, col + len("old_survey: ")))
    assert "'surve'" in f.message


def test_migrate_from_a_state_still_defined(toy):
    toy.edit("district", MIGRATE_AT, "\nmigrate:\n  states: {filed: draft}\n\nstages:\n")
    f = only(toy.check(), "migrate-existing")
    assert_at(f, toy.file("district"), toy.locate("district", "filed: draft"))


def test_migrate_two_stages_into_one(toy):
    toy.edit("district", MIGRATE_AT, "\nmigrate:\n  stages:\n    a_old: survey\n"
             "    b_old: survey\n\nstages:\n")
    f = only(toy.check(), "migrate-merge")
    assert_at(f, toy.file("district"), toy.locate("district", "survey", occurrence=1))


def test_migrate_block_unknown_key_is_a_schema_error(toy):
    toy.edit("district", MIGRATE_AT, "\nmigrate:\n  roles: {a: b}\n\nstages:\n")
    assert "schema" in codes(toy.check())


# --- four tiers: a desa level (tests/fixtures/four_tiers) ------------------------------------

@pytest.fixture
def four(tmp_path) -> ToyCopy:
    return ToyCopy(tmp_path / "four", FOUR_TIERS)


def test_the_four_tier_set_is_clean(four):
    assert four.check() == []
    assert [d.tier for d in load(four.workflows)] == [4, 3, 2, 1]  # children first


def test_tier_beyond_the_desa_is_a_schema_finding(four):
    four.edit("village", "tier: 4\n", "tier: 5\n")
    f = only(four.check(), "schema", four.file("village"))
    line, col = four.locate("village", "tier: 5")
    assert (f.line, f.column) == (line, col + len("tier: "))
    assert f.severity is ERROR and "tier" in f.message


def test_waits_for_the_desa_from_above_the_kecamatan(four):
    four.edit("regency", "      level: subdistrict\n      stage: recap\n",
              "      level: village\n      stage: census\n")
    f = only(four.check(), "not-child-level", four.file("regency"))
    line, col = four.locate("regency", "level: village")
    assert (f.line, f.column) == (line, col + len("level: "))
    assert "'subdistrict'" in f.message


def test_desa_parent_role_must_exist_at_the_kecamatan(four):
    four.edit("village", '"parent:overseer"], reason: true}', '"parent:auditor"], reason: true}')
    f = only(four.check(), "unknown-role", four.file("village"))
    line, col = four.locate("village", '"parent:auditor"')
    assert (f.line, f.column) == (line, col)
    assert "subdistrict" in f.message


def test_a_desa_level_without_a_kecamatan_level(four):
    (four.workflows / "subdistrict.yaml").unlink()
    found = four.check()
    # the desa's parent:overseer has no parent level; the regency waits for a missing level
    assert "unknown-level" in codes(found, four.file("village"))
    assert "unknown-level" in codes(found, four.file("regency"))


def test_rows_per_region_in_a_desa_form(four):
    path = four.forms / "village_census.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["properties"]["rt"] = {"type": "object", "title": "Per wilayah", "x-per": "desa",
                                  "additionalProperties": {"type": "object", "properties": {
                                      "n": {"type": "integer", "title": "N"}}}}
    schema["properties"]["isian"]["properties"]["tetangga"] = {
        "type": "string", "title": "Desa tetangga", "x-ref": "desa"}
    text = json.dumps(schema, indent=2)
    path.write_text(text, encoding="utf-8")
    found = [f for f in four.check() if f.code == "no-child-regions"]
    assert all(f.file.endswith("village_census.json") and f.severity is ERROR for f in found)
    per = locate(text, '"x-per": "desa"')
    ref = locate(text, '"x-ref": "desa"')
    assert sorted((f.line, f.column) for f in found) == sorted([
        (per[0], per[1] + len('"x-per": ')), (ref[0], ref[1] + len('"x-ref": '))])
    assert "kecamatan" in found[0].message


def test_a_kecamatan_form_keeps_its_desa_rows_with_a_desa_level(four):
    text = (four.forms / "subdistrict_recap.json").read_text(encoding="utf-8")
    assert '"x-per": "desa"' in text and four.check() == []


def test_a_definitions_directory_that_does_not_exist_is_its_own_finding(tmp_path):
    from engine.definitions import check

    missing = tmp_path / "tidak-ada"
    (finding,) = [f for f in check([missing]) if f.is_error]
    assert (finding.code, finding.line, finding.column) == ("missing-directory", 1, 1)
    assert str(missing) in str(finding)
