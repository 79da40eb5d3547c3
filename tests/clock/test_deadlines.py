"""Deadlines in the region's own zone, rolled past weekends and holidays when asked."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.clock.deadlines import due_at, due_date, working_day_on_or_after
from engine.definitions import DayOfYear, load
from engine.runtime import start_year
from engine.store.models import Task
from runtime.support import WORKFLOWS, copy_definitions, edit

UTC = dt.timezone.utc


@pytest.mark.parametrize("zone, utc_hour", [("Asia/Jakarta", 16), ("Asia/Makassar", 15),
                                            ("Asia/Jayapura", 14)])
def test_due_is_end_of_the_local_day(zone, utc_hour):
    assert due_at(DayOfYear(1, 15), 2026, zone) == dt.datetime(2026, 1, 15, utc_hour, 59, 59,
                                                              tzinfo=UTC)


def test_rolling_skips_weekends_national_holidays_and_cuti_bersama():
    # 14 Feb 2026 is a Saturday, 16 Feb cuti bersama and 17 Feb Imlek: the 18th is next.
    assert working_day_on_or_after(dt.date(2026, 2, 14)) == dt.date(2026, 2, 18)
    # 1 Jan 2026 (Thursday) is New Year's Day.
    assert due_date(DayOfYear(1, 1), 2026, "next_working_day") == dt.date(2026, 1, 2)
    assert due_date(DayOfYear(1, 1), 2026, None) == dt.date(2026, 1, 1)
    # A working day stays.
    assert working_day_on_or_after(dt.date(2026, 1, 15)) == dt.date(2026, 1, 15)


def test_years_without_holiday_data_roll_weekends_only():
    # 2030-01-05 is a Saturday; lokal-id has no 2030 holiday list.
    assert working_day_on_or_after(dt.date(2030, 1, 5)) == dt.date(2030, 1, 7)
    assert working_day_on_or_after(dt.date(2030, 1, 1)) == dt.date(2030, 1, 1)


def test_a_rolled_stage_is_due_on_the_next_working_day(regions, tmp_path):
    workflows = copy_definitions(WORKFLOWS, tmp_path)
    # kecamatan pra_musrenbang is due "02" = 28 Feb 2026, a Saturday -> Monday 2 March.
    edit(workflows / "kecamatan.yaml", "  - id: pra_musrenbang\n",
         "  - id: pra_musrenbang\n    roll: next_working_day\n")
    defs = load(workflows)
    assert defs["kecamatan"].stage("pra_musrenbang").roll == "next_working_day"
    with regions.session() as s:
        start_year(s, defs, 2026, province="19", levels=["kecamatan"],
                   now=dt.datetime(2025, 12, 1, tzinfo=UTC))
        dues = {t.stage: t.due_at for t in s.scalars(
            select(Task).where(Task.region_code == "19.01.01"))}
    assert dues["pra_musrenbang"] == dt.datetime(2026, 3, 2, 16, 59, 59, tzinfo=UTC)
    # Unrolled stages keep the book's day even on a weekend: 31 Jan 2026 is a Saturday.
    assert dues["penandaan_apbd_berjalan"] == dt.datetime(2026, 1, 31, 16, 59, 59, tzinfo=UTC)
