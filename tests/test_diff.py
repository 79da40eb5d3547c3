"""`aksi diff` and `aksi simulate --compare`: what a change to the definitions does, before
it applies. Every test copies a definition set, makes a known change to the YAML text and
asserts the exact lines printed (or, for the simulator, the exact figures of the same
seeded year played separately on each side)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.definitions import load
from engine.definitions.diff import diff
from engine.simulation import Settings, simulate
from helpers import WORKFLOWS, ToyCopy

LAST_ESCALATION = '      - {after: 1, to: ["parent:chief", "parent:overseer"]}\n'
NEW_STAGE = """
  - id: audit
    name: Spot Audit
    group: closing
    kind: pendukung
    opens: "06-01"
    due: "06-30"
"""

# (file, old text, new text, the exact lines `aksi diff` prints for it)
CHANGES = {
    "deadline": ("district", 'due: "03-31"', 'due: "04-15"', [
        "district (Toy District Reporting):",
        "  - tenggat Field Survey pindah dari 31 Maret ke 15 April",
    ]),
    "stage-added": ("district", LAST_ESCALATION, LAST_ESCALATION + NEW_STAGE, [
        "district (Toy District Reporting):",
        "  - tahap baru Spot Audit (kelompok Closing, dibuka 1 Juni, tenggat 30 Juni)",
    ]),
    "stage-reminder": ("district", "{before: 10, to: [clerk, checker]}",
                       "{before: 14, to: [clerk, checker]}", [
        "district (Toy District Reporting):",
        "  - pengingat tahap Annual Plan: 10 hari sebelum tenggat kepada District Clerk dan "
        "District Checker kini 14 hari sebelum tenggat",
    ]),
    # The default escalation reaches the two stages without their own (not Year Review).
    "default-escalation": ("district", '{after: 2, to: [chief, "parent:chief"]}',
                           '{after: 3, to: [chief, "parent:chief"]}', [
        "district (Toy District Reporting):",
        "  - eskalasi tahap Field Survey: 2 hari sesudah tenggat kepada District Chief dan "
        "Region Chief (region) kini 3 hari sesudah tenggat",
        "  - eskalasi tahap Annual Plan: 2 hari sesudah tenggat kepada District Chief dan "
        "Region Chief (region) kini 3 hari sesudah tenggat",
    ]),
    "reminder-recipients": ("region", "{before: 3, to: [clerk, checker]}",
                            "{before: 3, to: [clerk, checker, overseer]}", [
        "region (Toy Region Reporting):",
        "  - pengingat semua tahap: 3 hari sebelum tenggat kini kepada Region Clerk, "
        "Region Checker, dan Region Overseer (sebelumnya Region Clerk dan Region Checker)",
    ]),
    "role": ("district", "bounce: {name: Bounce, from: filed, to: draft, by: checker,",
             "bounce: {name: Bounce, from: filed, to: draft, by: [checker, chief],", [
        "district (Toy District Reporting):",
        "  - yang boleh Bounce di semua tahap berubah dari District Checker menjadi "
        "District Checker dan District Chief",
    ]),
    "band": ("region", "{name: Silver, min: 40}", "{name: Silver, min: 50}", [
        "region (Toy Region Reporting):",
        "  - batas bawah kelas Silver berubah dari skor 40 menjadi 50",
    ]),
    "weight": ("region", "{stage: collect, weight: 60, when: on_time}",
               "{stage: collect, weight: 50}", [
        "region (Toy Region Reporting):",
        "  - bobot penilaian tahap Collect District Plans berubah dari 60 menjadi 50",
        "  - penilaian tahap Collect District Plans kini dinilai bila selesai "
        "(sebelumnya dinilai bila selesai tepat waktu)",
    ]),
    "quorum": ("region", 'quorum: "50%"', 'quorum: "75%"', [
        "region (Toy Region Reporting):",
        "  - tahap Collect District Plans kini menunggu wilayah anak: Annual Plan berstatus "
        "Accepted di 75% wilayah district (sebelumnya: Annual Plan berstatus Accepted di 50% "
        "wilayah district)",
    ]),
    # What this module does not describe is still never silent.
    "other": ("region", "    description: Watches the districts.\n", "", [
        "region (Toy Region Reporting):",
        "  - definisi berubah di bagian lain (mis. keterangan, urutan, atau aturan tindakan)",
    ]),
}


@pytest.fixture
def pair(tmp_path: Path) -> tuple[ToyCopy, ToyCopy]:
    return ToyCopy(tmp_path / "old"), ToyCopy(tmp_path / "new")


def run_diff(old: Path, new: Path, *args: str):
    return CliRunner().invoke(main, ["diff", str(old), str(new), *args])


@pytest.mark.parametrize("name", CHANGES)
def test_diff_prints_exactly_the_change(pair, name):
    old, new = pair
    level, before, after, lines = CHANGES[name]
    new.edit(level, before, after)
    assert not any(f.is_error for f in new.check())
    result = run_diff(old.workflows, new.workflows)
    assert result.exit_code == 0, result.output
    count = len([line for line in lines if line.startswith("  - ")])
    assert result.output.splitlines() == [*lines, f"{count} perubahan"]


def test_the_reverse_of_an_added_stage_is_a_removed_one(pair):
    old, new = pair
    new.edit("district", LAST_ESCALATION, LAST_ESCALATION + NEW_STAGE)
    result = run_diff(new.workflows, old.workflows)
    assert result.output.splitlines() == ["district (Toy District Reporting):",
                                          "  - tahap Spot Audit dihapus", "1 perubahan"]


def test_several_changes_grouped_by_level_top_tier_first(pair):
    old, new = pair
    for name in ("deadline", "role", "band"):
        level, before, after, _ = CHANGES[name]
        new.edit(level, before, after)
    result = run_diff(old.workflows, new.workflows)
    assert result.output.splitlines() == [
        "region (Toy Region Reporting):",
        "  - batas bawah kelas Silver berubah dari skor 40 menjadi 50",
        "district (Toy District Reporting):",
        "  - tenggat Field Survey pindah dari 31 Maret ke 15 April",
        "  - yang boleh Bounce di semua tahap berubah dari District Checker menjadi "
        "District Checker dan District Chief",
        "3 perubahan",
    ]


def test_json_is_the_structured_list(pair):
    old, new = pair
    for name in ("deadline", "band"):
        level, before, after, _ = CHANGES[name]
        new.edit(level, before, after)
    result = run_diff(old.workflows, new.workflows, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"level": "region", "stage": None, "kind": "band-min", "old": 40, "new": 50,
         "text": "batas bawah kelas Silver berubah dari skor 40 menjadi 50"},
        {"level": "district", "stage": "survey", "kind": "due", "old": "03-31", "new": "04-15",
         "text": "tenggat Field Survey pindah dari 31 Maret ke 15 April"},
    ]


def test_no_change_and_a_broken_side(pair):
    old, new = pair
    same = run_diff(old.workflows, new.workflows)
    assert (same.exit_code, same.output) == (0, "tidak ada perubahan\n")
    assert diff(load(old.workflows), load(new.workflows)) == []
    new.edit("district", 'due: "03-31"', 'due: "02-30"')
    broken = run_diff(old.workflows, new.workflows)
    assert broken.exit_code == 1
    assert isinstance(broken.exception, SystemExit)  # a plain exit, no traceback
    assert f"{new.file('district')}:" in broken.output and "Februari" in broken.output


def test_juknis_copy_in_a_policy_owners_words(tmp_path):
    """The shipped workflows: a deadline, a stage, the default reminder, who approves, a band."""
    for name in ("old", "new"):
        shutil.copytree(WORKFLOWS, tmp_path / name / "workflows")
        shutil.copytree(WORKFLOWS.parent / "forms", tmp_path / name / "forms")
    path = tmp_path / "new" / "workflows" / "kecamatan.yaml"
    text = path.read_text(encoding="utf-8")
    for before, after in [
        ('    due: "01-15"\n    outputs: [kec_analisis_situasi]',
         '    due: "01-31"\n    outputs: [kec_analisis_situasi]'),
        ("    - {before: 7, to: [operator, verifikator]}",
         "    - {before: 10, to: [operator, verifikator]}"),
        ("approve: {name: Setujui, from: verified, to: approved, by: approver,",
         "approve: {name: Setujui, from: verified, to: approved, "
         'by: [approver, "parent:supervisor"],'),
        ("    - {name: Berdaya, min: 80}", "    - {name: Berdaya, min: 85}"),
        ("  - id: publikasi\n", "  - id: rembuk\n    name: Rembuk Stunting Kecamatan\n"
         "    group: publikasi\n    kind: pendukung\n    opens: \"03-01\"\n    due: \"03-31\"\n\n"
         "  - id: publikasi\n"),
    ]:
        assert text.count(before) == 1, before
        text = text.replace(before, after)
    path.write_text(text, encoding="utf-8")
    result = run_diff(tmp_path / "old" / "workflows", tmp_path / "new" / "workflows")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "kecamatan (Aksi Konvergensi Kecamatan):",
        "  - tenggat Analisis Situasi pindah dari 15 Januari ke 31 Januari",
        "  - tahap baru Rembuk Stunting Kecamatan (kelompok Publikasi, dibuka 1 Maret, "
        "tenggat 31 Maret)",
        "  - pengingat semua tahap: 7 hari sebelum tenggat kepada Operator Kecamatan dan "
        "Verifikator Kecamatan kini 10 hari sebelum tenggat",
        "  - yang boleh Setujui di semua tahap berubah dari Camat menjadi Camat dan "
        "Pemantau Bappeda Kabupaten/Kota (kabkota)",
        "  - batas bawah kelas Berdaya berubah dari skor 80 menjadi 85",
        "5 perubahan",
    ]


# --- aksi simulate --compare ---------------------------------------------------------------

ROW = re.compile(r"^  (\S+)\s+([-\d\s]+)\|([-\d\s]+?)(  \*)?$")
YEAR = 2026


def test_compare_plays_the_same_seed_on_both_sides(pair):
    """Annual Plan due 10 April instead of the end of May: a district whose survey was late
    opens its plan after the new deadline. Each task's fate comes from its own seeded
    generator, so nothing else moves."""
    old, new = pair
    new.edit("district", '    due: "05"', '    due: "04-10"')
    settings = Settings(YEAR, province="19", seed=1)
    current = simulate(load(old.workflows), settings)
    proposed = simulate(load(new.workflows), settings)
    plan = {side: r.level("district")["stages"][1] for side, r in
            (("current", current), ("proposed", proposed))}
    assert plan["current"]["stage"] == "plan"
    keys = ("on_time", "late", "missed", "reminders", "escalations")
    # The figures of seed 1: one more of the seven districts finishes its plan late.
    assert [plan["current"][k] for k in keys] == [6, 1, 0, 2, 1]
    assert [plan["proposed"][k] for k in keys] == [5, 2, 0, 7, 2]

    base = ["--workflows", str(old.workflows), "simulate", str(YEAR), "--seed", "1",
            "--compare", str(new.workflows)]
    result = CliRunner().invoke(main, base)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:2] == [
        "Perbandingan simulasi tahun 2026, provinsi 19 (seed 1, terlambat 0.20, terlewat 0.02, "
        "dikembalikan 0.10)",
        f"kiri: sekarang ({old.workflows}); kanan: usulan ({new.workflows})"]
    for level in ("region", "district"):
        header = next(i for i, line in enumerate(lines) if line.startswith(f"{level} (tingkat"))
        a, b = current.level(level), proposed.level(level)
        assert lines[header] == (f"{level} (tingkat {a['tier']}): {a['regions']} wilayah | "
                                 f"{b['regions']} wilayah")
        expected = [(x["stage"], [x[k] for k in keys], [y[k] for k in keys])
                    for x, y in zip(a["stages"] + [{"stage": "jumlah", **a["totals"]}],
                                    b["stages"] + [{"stage": "jumlah", **b["totals"]}])]
        for offset, (stage, left, right) in enumerate(expected):
            match = ROW.match(lines[header + 2 + offset])
            assert match, lines[header + 2 + offset]
            assert match.group(1) == stage
            assert [int(n) for n in match.group(2).split()] == left
            assert [int(n) for n in match.group(3).split()] == right
            assert bool(match.group(4)) == (left != right)
            # Only the changed stage (and its level's sum) moved.
            moved = (level, stage) in {("district", "plan"), ("district", "jumlah")}
            assert (left != right) == moved
    t_a, t_b = current.totals, proposed.totals
    assert lines[-2:] == [
        f"sekarang ({old.workflows}): {t_a['tasks']} tahap - {t_a['on_time']} tepat waktu, "
        f"{t_a['late']} terlambat, {t_a['missed']} terlewat; {t_a['reminders']} pengingat, "
        f"{t_a['escalations']} eskalasi",
        f"usulan ({new.workflows}): {t_b['tasks']} tahap - {t_b['on_time']} tepat waktu, "
        f"{t_b['late']} terlambat, {t_b['missed']} terlewat; {t_b['reminders']} pengingat, "
        f"{t_b['escalations']} eskalasi"]
    bands = [line for line in lines if line.startswith("  klasifikasi:")]
    c = current.level("region")["classification"]
    p = proposed.level("region")["classification"]
    assert bands[0] == ("  klasifikasi: "
                        + " | ".join(", ".join(f"{k} {v}" for k, v in x["bands"].items())
                                     + f" (skor rata-rata {x['mean_score']:.1f})" for x in (c, p)))
    assert bands[1] == "  klasifikasi: - | -"

    as_json = CliRunner().invoke(main, base + ["--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == {
        "current": {"workflows": str(old.workflows), **current.as_dict()},
        "proposed": {"workflows": str(new.workflows), **proposed.as_dict()}}


def test_compare_shows_a_stage_only_one_side_has(pair):
    old, new = pair
    new.edit("district", LAST_ESCALATION, LAST_ESCALATION + NEW_STAGE)
    result = CliRunner().invoke(main, ["--workflows", str(old.workflows), "simulate", str(YEAR),
                                       "--compare", str(new.workflows)])
    assert result.exit_code == 0, result.output
    (row,) = [line for line in result.output.splitlines() if line.startswith("  audit")]
    match = ROW.match(row)
    assert match.group(2).split() == ["-"] * 5 and match.group(4)
    assert [int(n) for n in match.group(3).split()][:3] != [0, 0, 0]


def test_compare_refuses_a_database(pair, tmp_path):
    old, new = pair
    result = CliRunner().invoke(main, ["--workflows", str(old.workflows), "simulate", str(YEAR),
                                       "--compare", str(new.workflows),
                                       "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "--compare" in result.output
    assert not (tmp_path / "x.db").exists()
