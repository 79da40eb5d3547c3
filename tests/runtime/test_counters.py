"""Progress counters stay equal to a count of the tasks, whatever changes the tasks:
year start, acting, returning, reopening, gates opening, deadline extensions, and
processes racing through one stage. On every backend."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections import Counter

from sqlalchemy import select, update

from engine.runtime import act_on, start_year
from engine.runtime.counters import recount
from engine.runtime.extensions import extend
from engine.store.models import ProgressCount, Task

from . import support
from .support import BANGKA_KECAMATAN, KABUPATEN_BANGKA, NOW, YEAR, user, walk_to_done

STAGE = "analisis_situasi"
KEC = BANGKA_KECAMATAN[0]


def stored(session, *, shards: bool = False) -> Counter:
    """The counter table, zero rows left out: summed over shards (what every reader does),
    or, ``shards``, row by row."""
    out: Counter = Counter()
    for r in session.scalars(select(ProgressCount)):
        key = (r.area, r.year, r.level, r.stage, r.state, r.due_at, r.late, r.week)
        out[(*key, r.shard) if shards else key] += r.count
    return +out


def from_tasks(session, *, shards: bool = False) -> Counter:
    """What the counters must say, counted here from the tasks (the test's own rules:
    a task counts in its provinsi and its kab/kota, the first two parts of its code; in
    the shard of its kab/kota's number modulo 8, 0 for a provinsi's own tasks)."""
    out: Counter = Counter()
    for t in session.scalars(select(Task)):
        parts = t.region_code.split(".")
        late = t.done_at is not None and t.done_at > t.due_at
        week = 0 if t.done_at is None else max(1, (t.done_at.date()
                                                   - dt.date(t.year, 1, 1)).days // 7 + 1)
        shard = int(parts[1]) % 8 if len(parts) > 1 else 0
        for area in {parts[0], ".".join(parts[:2])}:
            key = (area, t.year, t.level, t.stage, t.state, t.due_at, late, week)
            out[(*key, shard) if shards else key] += 1
    return out


def assert_counted(db) -> None:
    with db.session() as s:
        expected = from_tasks(s, shards=True)
        assert stored(s, shards=True) == expected
        assert stored(s) == from_tasks(s)
        assert recount(s) == len(expected)
    with db.session() as s:
        assert stored(s, shards=True) == expected  # the repair path writes the same rows


def test_a_provinces_rows_are_split_by_kabkota(started):
    """A provinsi's rows are split by kab/kota (acting in two kab/kota does not queue on
    one row); a kab/kota's own rows are not."""
    with started.session() as s:
        province = {k[-1] for k in stored(s, shards=True) if k[0] == "19"}
        assert province == {0, 1, 2, 3, 4, 5, 6, 71 % 8}  # its own; 19.01-19.06; 19.71
        assert {k[-1] for k in stored(s, shards=True) if k[0] == KABUPATEN_BANGKA} == {1}


def test_year_start_counts_every_task(started):
    with started.session() as s:
        assert sum(n for (area, *_), n in stored(s).items() if area == "19") == \
            s.scalar(select(Task.id).order_by(Task.id.desc()).limit(1))
    assert_counted(started)


def test_acting_returning_reopening_and_gates_keep_counts(started):
    late = NOW.replace(month=1, day=20)  # past analisis_situasi's 15 January deadline
    other = "penandaan_apbd_berjalan"
    with started.session() as s:
        for code in BANGKA_KECAMATAN[:-1]:
            walk_to_done(s, code, STAGE)
        walk_to_done(s, BANGKA_KECAMATAN[-1], STAGE, now=late)  # done late; the kab/kota opens
        opened = s.scalar(select(Task.state).where(Task.region_code == KABUPATEN_BANGKA,
                                                   Task.stage == STAGE))
        act_on(s, KEC, other, YEAR, "submit", user("operator", KEC), now=NOW)
        act_on(s, KEC, other, YEAR, "return", user("verifikator", KEC), reason="kurang lengkap",
               now=NOW)
        act_on(s, KEC, STAGE, YEAR, "reopen", user("approver", KEC), reason="cek ulang", now=late)
    assert opened == "ready"
    with started.session() as s:
        rows = stored(s)
        assert rows[(KABUPATEN_BANGKA, YEAR, "kecamatan", STAGE, "approved",
                     next(k[5] for k in rows if k[3] == STAGE and k[2] == "kecamatan"),
                     True, 3)] == 1
        assert any(k[4] == "returned" for k in rows) and any(k[4] == "reopened" for k in rows)
    assert_counted(started)


def test_extension_moves_counts_between_deadlines(started):
    with started.session() as s:
        walk_to_done(s, KEC, STAGE)
        report = extend(s, area=KABUPATEN_BANGKA, level="kecamatan", stage=STAGE, year=YEAR,
                        until=dt.date(2026, 1, 31), reason="banjir",
                        username=user("supervisor", KABUPATEN_BANGKA), now=NOW)
        assert report.skipped_done == [KEC]
    with started.session() as s:
        dues = {k[5] for k in stored(s) if k[0] == KABUPATEN_BANGKA and k[3] == STAGE
                and k[2] == "kecamatan"}
        assert len(dues) == 2  # the done one keeps its deadline, the others moved
    assert_counted(started)


def test_a_rolled_back_change_counts_nothing(started):
    with started.session() as s:
        before = stored(s)
    try:
        with started.session() as s:
            act_on(s, KEC, STAGE, YEAR, "submit", user("operator", KEC), now=NOW)
            raise RuntimeError("the caller gives up")
    except RuntimeError:
        pass
    with started.session() as s:
        assert stored(s) == before


def test_recount_repairs_counters(started):
    with started.session() as s:
        s.execute(update(ProgressCount).values(count=ProgressCount.count + 5))
    with started.session() as s:
        assert stored(s) != from_tasks(s)
    with started.session() as s:
        recount(s)
    assert_counted(started)


def test_starting_another_province_adds_to_counts(regions, defs):
    from engine.regions import load_regions
    with regions.session() as s:
        load_regions(s, "21")
        start_year(s, defs, YEAR, province="19", now=NOW)
    with regions.session() as s:
        start_year(s, defs, YEAR, now=NOW)  # the rest: province 21, 19 skipped
    assert_counted(regions)


def test_processes_racing_keep_counts(started, db_url):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    results = ctx.Queue()
    procs = [ctx.Process(target=support.race_worker,
                         args=(db_url, list(BANGKA_KECAMATAN), STAGE, YEAR, NOW.isoformat(), seed,
                               barrier, results))
             for seed in range(4)]
    for p in procs:
        p.start()
    reports = [results.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert all(kind == "ok" for kind, _ in reports), reports
    with started.session() as s:
        assert s.scalar(select(Task.state).where(Task.region_code == KABUPATEN_BANGKA,
                                                 Task.stage == STAGE)) == "ready"
    assert_counted(started)


def test_aksi_db_recount_repairs_counters(started):
    from click.testing import CliRunner

    from engine.cli import main

    with started.session() as s:
        s.execute(update(ProgressCount).values(count=0))
    result = CliRunner().invoke(main, ["--db", started.url, "db", "recount"])
    assert result.exit_code == 0, result.output
    assert "dihitung ulang" in result.output
    assert_counted(started)


def test_upgrading_fills_the_shards_from_the_tasks(started):
    """A database whose counters predate the shards (revision 0018: one row per key,
    which the downgrade sums them into) is recounted into shards by the upgrade."""
    import sqlalchemy as sa
    from alembic import command

    from engine.store.migrate import config

    with started.session() as s:
        act_on(s, KEC, STAGE, YEAR, "submit", user("operator", KEC), now=NOW)
    with started.session() as s:
        summed = stored(s)
    command.downgrade(config(started), "0018")
    columns = {c["name"] for c in sa.inspect(started.engine).get_columns("progress_counts")}
    assert "shard" not in columns
    with started.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT area, year, level, stage, state, late, week, "
                                    "count FROM progress_counts WHERE count <> 0")).all()
    assert sum(r.count for r in rows) == sum(summed.values())
    started.upgrade()
    assert_counted(started)
    with started.session() as s:
        assert stored(s) == summed
