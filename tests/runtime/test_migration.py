"""Migrating running cases to the definition on disk (`aksi year migrate`), on every backend."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from collections import Counter

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.cli import main
from engine.clock.deadlines import end_of_day
from engine.worker.tick import tick
from engine.definitions import load
from engine.errors import MigrationRefused
from engine.runtime import act_on, find_task, start_year
from engine.runtime import counters
from engine.runtime.extensions import extend
from engine.runtime.migration import migrate
from engine.store.models import Case, Event, Notice, ProgressCount, Task

from . import support
from .support import (
    BANGKA_KECAMATAN, NOW, WORKFLOWS, YEAR, add_standard_users, edit, lifecycle_only, user,
    walk_to_done,
)

UTC = dt.timezone.utc
JULY = dt.datetime(2026, 7, 25, 3, 0, tzinfo=UTC)  # 25 July 2026, 10.00 WIB
KEC = BANGKA_KECAMATAN[0]
WIB = "Asia/Jakarta"


@pytest.fixture
def year(regions, defs):
    """Province 19's kecamatan and kab/kota cases started on 5 January, with the standard users."""
    with regions.session() as s:
        start_year(s, defs, YEAR, province="19", levels=["kecamatan", "kabkota"], now=NOW)
        add_standard_users(s, defs)
    return regions


@pytest.fixture
def edited(tmp_path):
    """Definitions on disk after the edits given (the lifecycle-only set, as `defs`)."""
    counter = iter(range(100))

    def make(*edits: tuple[str, str]):
        root = tmp_path / f"edit{next(counter)}"
        workflows = lifecycle_only(WORKFLOWS, root)
        for old, new in edits:
            edit(workflows / "kecamatan.yaml", old, new)
        return load(workflows), workflows
    return make


def _hashes(db, codes=BANGKA_KECAMATAN) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(Case.definition_hash).where(
            Case.region_code.in_(codes), Case.year == YEAR)))


def _counters_match_tasks(db) -> None:
    """The progress counters equal a recount from the tasks."""
    def read():
        with db.session() as s:
            return sorted((tuple(r[:-1]), r[-1]) for r in s.execute(select(
                ProgressCount.area, ProgressCount.level, ProgressCount.stage,
                ProgressCount.state, ProgressCount.due_at, ProgressCount.late,
                ProgressCount.week, ProgressCount.count).where(ProgressCount.count != 0)))
    kept = read()
    with db.session() as s:
        counters.recount(s)
    assert kept == read()


MOVE_JULY = ('    opens: "07-01"\n    due: "07"\n    after: [analisis_situasi]',
             '    opens: "07-01"\n    due: "08-15"\n    after: [analisis_situasi]')


def test_a_deadline_moved_in_july_takes_its_reminders_along(year, edited):
    """capaian_semester_1 (due 31 July) moved to 15 August on 25 July: the 7-day reminder
    of 24 July has fired, the 1-day one of 30 July moves to 14 August, none fires twice; a
    supervisor's longer extension is kept."""
    stage = "capaian_semester_1"
    tick(year, dt.datetime(2026, 7, 24, 2, 0, tzinfo=UTC))  # 24 July 09.00 WIB
    with year.session() as s:
        extend(s, area=BANGKA_KECAMATAN[1], stage=stage, year=YEAR, until=dt.date(2026, 8, 31),
               reason="banjir", username=user("supervisor", "19.01"), now=JULY)
    new, _ = edited(MOVE_JULY)
    report = migrate(year, new, YEAR, level="kecamatan", region="19.01", now=JULY)
    assert sorted(report.applied) == sorted(BANGKA_KECAMATAN)
    plan = next(p for p in report.plans if p.region_code == KEC)
    moved = [c for c in plan.changes if c.stage == stage]
    assert [c.kind for c in moved] == ["deadline_moved"]
    words = moved[0].words()
    assert "31 Juli 2026" in words and "15 Agustus 2026" in words, words
    assert "pengingat 8 Agustus 2026, 08.00 WIB" in words and "14 Agustus 2026" in words, words
    kept = next(c for p in report.plans if p.region_code == BANGKA_KECAMATAN[1]
                for c in p.changes if c.stage == stage)
    assert (kept.kind, kept.detail["why"]) == ("deadline_kept", "extended")
    with year.session() as s:
        assert find_task(s, KEC, stage, YEAR).due_at == end_of_day(dt.date(2026, 8, 15), WIB)
        assert find_task(s, BANGKA_KECAMATAN[1], stage, YEAR).due_at == \
            end_of_day(dt.date(2026, 8, 31), WIB)
        assert find_task(s, "19.02.01", stage, YEAR).due_at == \
            end_of_day(dt.date(2026, 7, 31), WIB)  # outside --region: untouched
        migrated = s.scalars(select(Event).where(Event.kind == "case_migrated",
                                                 Event.region_code == KEC)).one()
        assert migrated.payload["to"] == new["kecamatan"].content_hash
    assert _hashes(year) == {new["kecamatan"].content_hash}
    for day in (dt.datetime(2026, 7, 31, 2, tzinfo=UTC), dt.datetime(2026, 8, 8, 2, tzinfo=UTC),
                dt.datetime(2026, 8, 14, 2, tzinfo=UTC), dt.datetime(2026, 8, 20, 2, tzinfo=UTC)):
        tick(year, day)
    with year.session() as s:
        task = find_task(s, KEC, stage, YEAR)
        fired = [(e.payload["rule"], e.payload["due_at"], e.at.date()) for e in s.scalars(
            select(Event).where(Event.task_id == task.id, Event.kind == "reminder")
            .order_by(Event.id))]
    old_due = end_of_day(dt.date(2026, 7, 31), WIB).isoformat()
    new_due = end_of_day(dt.date(2026, 8, 15), WIB).isoformat()
    assert fired == [(0, old_due, dt.date(2026, 7, 24)), (0, new_due, dt.date(2026, 8, 8)),
                     (1, new_due, dt.date(2026, 8, 14))]
    _counters_match_tasks(year)
    with year.session() as s:
        events_before = s.scalar(select(func.count()).select_from(Event))
    again = migrate(year, new, YEAR, level="kecamatan", region="19.01", now=JULY)
    assert (again.plans, again.applied) == ([], [])  # idempotent
    with year.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == events_before


NEW_STAGE = ("  - id: publikasi\n", """  - id: evaluasi_tengah_tahun
    name: Evaluasi Tengah Tahun
    group: penguatan_pelaksanaan
    kind: pendukung
    opens: "07-01"
    due: "08"
    after: [analisis_situasi]
    outputs: [kec_publikasi]

  - id: publikasi
""")


def test_a_stage_added_opens_by_its_gate(year, edited):
    with year.session() as s:
        walk_to_done(s, KEC, "analisis_situasi")
    new, _ = edited(NEW_STAGE)
    report = migrate(year, new, YEAR, level="kecamatan", region="19.01", now=JULY)
    added = {p.region_code: c for p in report.plans for c in p.changes
             if c.kind == "stage_added"}
    assert added[KEC].detail["opens"] is True
    assert "langsung dibuka" in added[KEC].words()
    other = added[BANGKA_KECAMATAN[1]]
    assert other.detail["opens"] is False and "menunggu tahap 'Analisis Situasi'" in other.words()
    with year.session() as s:
        opened = find_task(s, KEC, "evaluasi_tengah_tahun", YEAR)
        locked = find_task(s, BANGKA_KECAMATAN[1], "evaluasi_tengah_tahun", YEAR)
        assert (opened.state, locked.state) == ("ready", "locked")
        assert [e.kind for e in support.task_events(s, opened.id)] == ["stage_added", "open"]
        pending = s.scalars(select(Notice).where(Notice.task_id == locked.id)).one()
        assert (pending.kind, pending.days, pending.due_at) == (
            "reminder", 7, end_of_day(dt.date(2026, 8, 31), WIB))
    _counters_match_tasks(year)
    with year.session() as s:  # the locked one opens when its predecessor is approved
        walk_to_done(s, BANGKA_KECAMATAN[1], "analisis_situasi", now=JULY)
        assert find_task(s, BANGKA_KECAMATAN[1], "evaluasi_tengah_tahun", YEAR).state == "ready"


RENAME_STATE = [("    returned: {name: Dikembalikan}", "    dikembalikan: {name: Dikembalikan}"),
                ("to: returned, by:", "to: dikembalikan, by:"),
                ("from: [ready, returned, reopened]", "from: [ready, dikembalikan, reopened]")]


def _returned(db) -> None:
    with db.session() as s:
        act_on(s, KEC, "analisis_situasi", YEAR, "submit", user("operator", KEC), now=NOW)
        act_on(s, KEC, "analisis_situasi", YEAR, "return", user("verifikator", KEC),
               reason="data desa belum lengkap", now=NOW)


def _snapshot(db):
    with db.session() as s:
        return (sorted(s.execute(select(Task.id, Task.stage, Task.state, Task.version,
                                        Task.due_at, Task.definition_hash)).all()),
                s.scalar(select(func.count()).select_from(Event)),
                sorted(s.execute(select(Notice.id, Notice.status, Notice.due_at)).all()))


def test_a_state_that_is_gone_refuses_until_mapped(year, edited):
    _returned(year)
    before = _snapshot(year)
    unmapped, _ = edited(*RENAME_STATE)
    with pytest.raises(MigrationRefused) as refused:
        migrate(year, unmapped, YEAR, level="kecamatan", now=JULY)
    assert refused.value.problems == [
        f"{KEC} (kecamatan): tahap 'analisis_situasi': status 'returned' tidak ada lagi dan "
        "tidak dipetakan di 'migrate.states'"]
    assert _snapshot(year) == before  # a refused migration changes nothing
    mapped, _ = edited(*RENAME_STATE, ("\nstages:\n", "\nmigrate:\n  states: {returned: "
                                                       "dikembalikan}\n\nstages:\n"))
    report = migrate(year, mapped, YEAR, level="kecamatan", region="19.01", now=JULY)
    change = next(c for p in report.plans if p.region_code == KEC for c in p.changes
                  if c.kind == "state_mapped")
    assert change.words() == ("tahap 'analisis_situasi': status 'returned' tidak ada lagi, "
                              "menjadi 'dikembalikan'")
    with year.session() as s:
        assert find_task(s, KEC, "analisis_situasi", YEAR).state == "dikembalikan"
        result = act_on(s, KEC, "analisis_situasi", YEAR, "submit", user("operator", KEC),
                        now=JULY)
        assert (result.from_state, result.to_state) == ("dikembalikan", "submitted")
    _counters_match_tasks(year)


RENAME_STAGE = ("  - id: dukungan_regulasi\n", "  - id: regulasi_kecamatan\n")


def test_a_removed_stage_with_data_refuses_and_a_renamed_one_keeps_it(year, edited):
    with year.session() as s:
        act_on(s, KEC, "dukungan_regulasi", YEAR, "submit", user("operator", KEC), now=NOW)
    before = _snapshot(year)
    removed, _ = edited(RENAME_STAGE)
    with pytest.raises(MigrationRefused) as refused:
        migrate(year, removed, YEAR, level="kecamatan", region="19.01", now=JULY)
    assert [p.split(":")[0] for p in refused.value.problems] == [f"{KEC} (kecamatan)"]
    assert "berisi data" in refused.value.problems[0]
    assert _snapshot(year) == before
    renamed, _ = edited(RENAME_STAGE, ("\nstages:\n", "\nmigrate:\n  stages: "
                                                      "{dukungan_regulasi: regulasi_kecamatan}"
                                                      "\n\nstages:\n"))
    migrate(year, renamed, YEAR, level="kecamatan", region="19.01", now=JULY)
    with year.session() as s:
        task = find_task(s, KEC, "regulasi_kecamatan", YEAR)
        assert task.state == "submitted"
        assert [e.kind for e in support.task_events(s, task.id)] == ["open", "submit"]
    _counters_match_tasks(year)


def test_cli_plan_in_words_dry_run_and_json(year, db_url, edited):
    _, workflows = edited(MOVE_JULY)
    runner = CliRunner()
    base = ["--workflows", str(workflows), "--db", db_url,
            "year", "migrate", str(YEAR), "--level", "kecamatan", "--region", "19.01"]
    with time_machine.travel(JULY, tick=False):
        dry = runner.invoke(main, base + ["--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "tenggat dipindah dari 31 Juli 2026, 23.59 WIB ke 15 Agustus 2026" in dry.output
        assert "uji coba: 8 kasus akan dimigrasi" in dry.output
        assert len(_hashes(year)) == 1 and _hashes(year) != {None}
        done = runner.invoke(main, base + ["--json"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert sorted(body["applied"]) == sorted(BANGKA_KECAMATAN) and body["refusals"] == []
    assert body["plans"][0]["changes"][0]["kind"] == "deadline_moved"


def test_cli_refused_lists_the_problems(year, db_url, edited):
    _returned(year)
    _, workflows = edited(*RENAME_STATE)
    with time_machine.travel(JULY, tick=False):
        out = CliRunner().invoke(main, ["--workflows", str(workflows), "--db", db_url,
                                        "year", "migrate", str(YEAR)])
    assert out.exit_code == 1
    assert "status 'returned' tidak ada lagi" in out.output


RACE_STAGE = "publikasi"
MOVE_PUBLIKASI = ('    opens: "01-01"\n    due: "12"\n    outputs: [kec_publikasi]',
                  '    opens: "01-01"\n    due: "11"\n    outputs: [kec_publikasi]')


def test_actions_racing_a_migration_lose_no_update(year, db_url, edited):
    """Processes walk every Bangka kecamatan's stage to approved while the year migrates:
    every transition lands exactly once, and every case ends migrated."""
    new, _ = edited(MOVE_PUBLIKASI)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    results = ctx.Queue()
    procs = [ctx.Process(target=support.race_worker,
                         args=(db_url, list(BANGKA_KECAMATAN), RACE_STAGE, YEAR, NOW.isoformat(),
                               seed, barrier, results)) for seed in range(2)]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    report = migrate(year, new, YEAR, level="kecamatan", region="19.01", now=NOW)
    outcomes = [results.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    total = Counter()
    for _, counts in outcomes:
        total.update(counts)
    assert (total["submit"], total["verify"], total["approve"]) == (8, 8, 8), total
    assert sorted(report.applied) == sorted(BANGKA_KECAMATAN)
    with year.session() as s:
        for code in BANGKA_KECAMATAN:
            task = find_task(s, code, RACE_STAGE, YEAR)
            chain = [(e.from_state, e.to_state) for e in support.task_events(s, task.id)]
            assert task.state == "approved"
            assert chain == [("locked", "ready"), ("ready", "submitted"),
                             ("submitted", "verified"), ("verified", "approved")]
            assert task.definition_hash == new["kecamatan"].content_hash
            # done before or after the migration: kept, or moved to 30 November
            assert task.due_at in (end_of_day(dt.date(2026, 11, 30), WIB),
                                   end_of_day(dt.date(2026, 12, 31), WIB))
    assert _hashes(year) == {new["kecamatan"].content_hash}
    _counters_match_tasks(year)


REMOVE_STAGE = ("""  - id: dukungan_regulasi
    name: Dukungan Regulasi Kecamatan
    group: dukungan_regulasi
    kind: pendukung
    opens: "01-01"
    due: "12"
    outputs: [kec_regulasi]
""", "")
APPROVE_BY = ("to: approved, by: approver,", "to: approved, by: [approver, \"parent:supervisor\"],")


STAGE_BY = ("    outputs: [kec_publikasi]\n",
            "    outputs: [kec_publikasi]\n    by: {approve: \"parent:supervisor\"}\n")


def test_a_stage_of_its_own_roles_is_a_roles_change_of_that_stage_only(year, edited):
    new, _ = edited(STAGE_BY)
    report = migrate(year, new, YEAR, level="kecamatan", region="19.01", now=JULY)
    plan = next(p for p in report.plans if p.region_code == KEC)
    changed = [c for c in plan.changes if c.kind == "roles_changed"]
    assert [c.stage for c in changed] == ["publikasi"]
    assert changed[0].words() == ("tahap 'publikasi': pemicu 'approve' kini oleh "
                                  "parent:supervisor (sebelumnya approver)")


def test_an_empty_stage_removed_and_roles_changed(year, edited):
    with year.session() as s:
        gone = find_task(s, KEC, "dukungan_regulasi", YEAR).id
    new, _ = edited(REMOVE_STAGE, APPROVE_BY)
    report = migrate(year, new, YEAR, level="kecamatan", region="19.01", now=JULY)
    plan = next(p for p in report.plans if p.region_code == KEC)
    removed = [c.words() for c in plan.changes if c.kind == "stage_removed"]
    assert removed == ["tahap 'dukungan_regulasi' dihapus (belum berisi data; status 'ready')"]
    roles = next(c for c in plan.changes
                 if c.kind == "roles_changed" and c.stage == "analisis_situasi")
    assert roles.words() == ("tahap 'analisis_situasi': pemicu 'approve' kini oleh approver, "
                             "parent:supervisor (sebelumnya approver)")
    with year.session() as s:
        assert s.get(Task, gone) is None
        kept = s.scalars(select(Event).where(Event.case_id == plan.case_id,
                                             Event.stage == "dukungan_regulasi")).all()
        assert [(e.kind, e.task_id) for e in kept] == [("open", None)]  # history stays
        assert s.scalar(select(func.count()).select_from(Notice).where(
            Notice.task_id == gone)) == 0
    _counters_match_tasks(year)
