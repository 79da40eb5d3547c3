"""The tick: reminders and escalations at the right local moment, once; openings by date."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.cli import main
from engine.worker.tick import tick
from engine.people import actor
from engine.regions import load_regions
from engine.runtime import act_on, find_task, start_year
from engine.runtime.extensions import extend
from engine.runtime.inbox import inbox_for
from engine.people import add_user
from engine.store.models import Event, Notice, Task

UTC = dt.timezone.utc
BEFORE_YEAR = dt.datetime(2025, 12, 1, tzinfo=UTC)
KEC = {"19": "19.01.01", "51": "51.01.01", "91": "91.03.01"}  # WIB, WITA, WIT kecamatan


@pytest.fixture
def three_zones(db, defs):
    with db.session() as s:
        for province in KEC:
            load_regions(s, province, with_desa=False)
        for province in KEC:
            start_year(s, defs, 2026, province=province, levels=["kecamatan", "kabkota"],
                       now=BEFORE_YEAR)
    return db


def _reminders(db, region: str, stage: str = "analisis_situasi") -> list[Event]:
    with db.session() as s:
        return list(s.scalars(select(Event).where(
            Event.kind == "reminder", Event.region_code == region, Event.stage == stage)))


@pytest.mark.parametrize("province, local_offset", [("19", 7), ("51", 8), ("91", 9)])
def test_reminder_fires_at_eight_in_the_morning_local_time(three_zones, province, local_offset):
    """analisis_situasi is due 15 January: the 7-day reminder is 8 January, 08:00 local."""
    moment = dt.datetime(2026, 1, 8, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=local_offset)))
    region = KEC[province]
    with time_machine.travel(moment - dt.timedelta(seconds=1), tick=False):
        tick(three_zones)  # the wall clock, travelled
    assert _reminders(three_zones, region) == []
    with time_machine.travel(moment, tick=False):
        report = tick(three_zones)
    fired = _reminders(three_zones, region)
    assert len(fired) == 1
    assert fired[0].at == moment.astimezone(UTC)
    assert fired[0].payload["days"] == 7
    assert {"role": "operator", "region": region} in fired[0].payload["recipients"]
    assert report.reminders >= 1
    with time_machine.travel(moment + dt.timedelta(hours=1), tick=False):
        tick(three_zones)
    assert len(_reminders(three_zones, region)) == 1  # never twice


def test_escalation_goes_to_the_parent_supervisor_and_lands_in_the_inbox(three_zones, defs):
    region = KEC["51"]  # WITA: due 15 Jan 23:59:59 +08 = 15:59:59Z; 3 days after
    escalation_at = dt.datetime(2026, 1, 18, 15, 59, 59, tzinfo=UTC)
    with three_zones.session() as s:
        add_user(s, defs, "pengawas", role="supervisor", region="51.01")
    report = tick(three_zones, escalation_at - dt.timedelta(seconds=1))
    with three_zones.session() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "escalation", Event.region_code == region,
            Event.stage == "analisis_situasi")) == 0
    report = tick(three_zones, escalation_at)
    assert report.escalations >= 1
    with three_zones.session() as s:
        escalations = s.scalars(select(Event).where(
            Event.kind == "escalation", Event.region_code == region,
            Event.stage == "analisis_situasi")).all()
        assert len(escalations) == 1
        assert {"role": "supervisor", "region": "51.01"} in escalations[0].payload["recipients"]
        items = inbox_for(s, actor(s, "pengawas"))
    mine = [i for i in items if i["task"]["region"] == region
            and i["task"]["stage"] == "analisis_situasi"]
    assert len(mine) == 1
    assert mine[0]["message"].startswith("Eskalasi:")
    assert "15 Januari 2026, 23.59 WITA" in mine[0]["message"]  # shown in the region's own zone


def test_a_missed_reminder_fires_once_at_the_next_tick(three_zones):
    region = KEC["19"]
    # No worker ran between 1 and 20 January: both reminders (7 and 1 day) are late.
    report = tick(three_zones, dt.datetime(2026, 1, 20, tzinfo=UTC))
    assert len(_reminders(three_zones, region)) == 2
    assert report.reminders >= 2
    tick(three_zones, dt.datetime(2026, 1, 21, tzinfo=UTC))
    assert len(_reminders(three_zones, region)) == 2


def test_no_reminder_for_a_stage_already_done(three_zones, defs):
    region = KEC["19"]
    with three_zones.session() as s:
        for role in ("operator", "verifikator", "approver"):
            add_user(s, defs, f"{role}-x", role=role, region=region)
    opened = dt.datetime(2026, 1, 2, tzinfo=UTC)
    tick(three_zones, opened)
    with three_zones.session() as s:
        for trigger, role in (("submit", "operator"), ("verify", "verifikator"),
                              ("approve", "approver")):
            act_on(s, region, "analisis_situasi", 2026, trigger, f"{role}-x", now=opened)
    report = tick(three_zones, dt.datetime(2026, 1, 20, tzinfo=UTC))
    assert _reminders(three_zones, region) == []
    assert report.skipped >= 3  # two reminders and one escalation of that task
    with three_zones.session() as s:
        task = find_task(s, region, "analisis_situasi", 2026)
        statuses = s.scalars(select(Notice.status).where(Notice.task_id == task.id)).all()
    assert statuses and set(statuses) == {"skipped"}


def test_stages_open_when_their_day_comes(three_zones):
    region = KEC["19"]
    with three_zones.session() as s:
        assert find_task(s, region, "analisis_situasi", 2026).state == "locked"
    report = tick(three_zones, dt.datetime(2025, 12, 31, 16, 59, tzinfo=UTC))  # 23:59 WIB
    with three_zones.session() as s:
        assert find_task(s, region, "analisis_situasi", 2026).state == "locked"
    report = tick(three_zones, dt.datetime(2025, 12, 31, 17, 0, tzinfo=UTC))  # 00:00 WIB
    assert report.opened > 0
    with three_zones.session() as s:
        task = find_task(s, region, "analisis_situasi", 2026)
        assert task.state == "ready"
        # pra_musrenbang's day has not come, and it waits for two stages anyway.
        assert find_task(s, region, "pra_musrenbang", 2026).state == "locked"
        opened = s.scalars(select(Event).where(Event.task_id == task.id, Event.kind == "open"))
        assert len(opened.all()) == 1
    # WITA midnight is an hour earlier in UTC: that region opened in the same tick.
    with three_zones.session() as s:
        assert find_task(s, KEC["51"], "analisis_situasi", 2026).state == "ready"
        assert find_task(s, KEC["91"], "analisis_situasi", 2026).state == "ready"
    assert tick(three_zones, dt.datetime(2026, 1, 1, tzinfo=UTC)).opened == 0


def test_extension_moves_reminders_and_escalations(three_zones, defs):
    region = KEC["19"]
    with three_zones.session() as s:
        add_user(s, defs, "pengawas-19.01", role="supervisor", region="19.01")
        report = extend(s, area=region, stage="analisis_situasi", year=2026,
                        until=dt.date(2026, 2, 10), reason="banjir", username="pengawas-19.01",
                        now=dt.datetime(2026, 1, 5, tzinfo=UTC))
    assert report.extended == [region]
    # The old 7-day reminder moment (8 Jan 08:00 WIB) passes silently.
    tick(three_zones, dt.datetime(2026, 1, 20, tzinfo=UTC))
    assert _reminders(three_zones, region) == []
    # New deadline 10 Feb 23:59:59 WIB; 7-day reminder 3 Feb 08:00 WIB = 01:00Z.
    tick(three_zones, dt.datetime(2026, 2, 3, 0, 59, tzinfo=UTC))
    assert _reminders(three_zones, region) == []
    tick(three_zones, dt.datetime(2026, 2, 3, 1, 0, tzinfo=UTC))
    fired = _reminders(three_zones, region)
    assert len(fired) == 1 and fired[0].payload["due_at"] == "2026-02-10T16:59:59+00:00"
    with three_zones.session() as s:
        task = find_task(s, region, "analisis_situasi", 2026)
        assert task.due_at == dt.datetime(2026, 2, 10, 16, 59, 59, tzinfo=UTC)
        extended = s.scalars(select(Event).where(Event.task_id == task.id,
                                                 Event.kind == "deadline_extended")).one()
        assert extended.actor == "pengawas-19.01" and extended.payload["reason"] == "banjir"


def test_only_a_supervisor_above_may_extend_and_needs_a_reason(three_zones, defs):
    from engine.errors import NotPermitted, ReasonRequired, Refused

    region = KEC["19"]
    with three_zones.session() as s:
        add_user(s, defs, "camat", role="approver", region=region)
        add_user(s, defs, "pengawas-19.01", role="supervisor", region="19.01")
    kwargs = dict(area=region, stage="analisis_situasi", year=2026, until=dt.date(2026, 2, 1),
                  now=dt.datetime(2026, 1, 5, tzinfo=UTC))
    with pytest.raises(NotPermitted), three_zones.session() as s:
        extend(s, reason="x", username="camat", **kwargs)
    with pytest.raises(ReasonRequired), three_zones.session() as s:
        extend(s, reason=" ", username="pengawas-19.01", **kwargs)
    with pytest.raises(Refused), three_zones.session() as s:  # earlier than the deadline
        extend(s, reason="x", username="pengawas-19.01",
               **{**kwargs, "until": dt.date(2026, 1, 10)})
    with pytest.raises(Refused, match="alasan terlalu panjang"), three_zones.session() as s:
        extend(s, reason="x" * 2001, username="pengawas-19.01", **kwargs)
    with three_zones.session() as s:
        assert find_task(s, region, "analisis_situasi", 2026).due_at.day == 15


def test_bulk_extension_for_every_kecamatan_below(three_zones, defs):
    with three_zones.session() as s:
        add_user(s, defs, "pengawas-19.01", role="supervisor", region="19.01")
        report = extend(s, area="19.01", level="kecamatan", stage="analisis_situasi",
                        year=2026, until=dt.date(2026, 1, 31), reason="serentak",
                        username="pengawas-19.01", now=dt.datetime(2026, 1, 5, tzinfo=UTC))
        dues = s.execute(select(Task.region_code, Task.due_at).where(
            Task.stage == "analisis_situasi", Task.level == "kecamatan",
            Task.region_code.startswith("19.01."))).all()
    assert sorted(report.extended) == sorted(code for code, _ in dues) and len(dues) == 8
    assert {due for _, due in dues} == {dt.datetime(2026, 1, 31, 16, 59, 59, tzinfo=UTC)}


def test_cli_tick_reports_counts(three_zones):
    runner = CliRunner()
    result = runner.invoke(main, ["--db", three_zones.url, "tick", "--now",
                                  "2026-01-08T08:00+07:00", "--json"])
    assert result.exit_code == 0, result.output
    import json

    counts = json.loads(result.stdout)
    assert counts["reminders"] > 0 and counts["opened"] > 0 and counts["escalations"] == 0
    again = runner.invoke(main, ["--db", three_zones.url, "tick", "--now",
                                 "2026-01-08T08:00+07:00", "--json"])
    assert json.loads(again.stdout)["reminders"] == 0
    bad = runner.invoke(main, ["--db", three_zones.url, "tick", "--now", "2026-01-08T08:00"])
    assert bad.exit_code == 2  # no time zone: refused as a usage error


def test_a_stage_whose_predecessors_finished_early_opens_on_its_day(three_zones, defs):
    """pra_musrenbang (after two stages, opens 1 February): approvals in January do not open
    it; the tick at 00:00 WIB on 1 February does."""
    region = KEC["19"]
    with three_zones.session() as s:
        for role in ("operator", "verifikator", "approver"):
            add_user(s, defs, f"{role}-y", role=role, region=region)
    january = dt.datetime(2026, 1, 6, tzinfo=UTC)
    tick(three_zones, january)
    with three_zones.session() as s:
        for stage in ("analisis_situasi", "penandaan_apbd_berjalan"):
            for trigger, role in (("submit", "operator"), ("verify", "verifikator"),
                                  ("approve", "approver")):
                result = act_on(s, region, stage, 2026, trigger, f"{role}-y", now=january)
        assert result.opened == []
        assert find_task(s, region, "pra_musrenbang", 2026).state == "locked"
    tick(three_zones, dt.datetime(2026, 1, 31, 16, 59, tzinfo=UTC))  # 23:59 WIB
    with three_zones.session() as s:
        assert find_task(s, region, "pra_musrenbang", 2026).state == "locked"
    tick(three_zones, dt.datetime(2026, 1, 31, 17, 0, tzinfo=UTC))  # 00:00 WIB, 1 Feb
    with three_zones.session() as s:
        assert find_task(s, region, "pra_musrenbang", 2026).state == "ready"
        # Its sibling in another kecamatan, whose predecessors are not done, stays locked.
        assert find_task(s, "19.01.02", "pra_musrenbang", 2026).state == "locked"


def test_a_year_started_late_schedules_only_what_is_still_to_come(db, defs):
    """Started at 00:30 UTC on 8 January: the 7-day reminder of analisis_situasi (08:00
    local) has passed in WIT (23:00Z) and WITA (00:00Z) but not yet in WIB (01:00Z)."""
    started = dt.datetime(2026, 1, 8, 0, 30, tzinfo=UTC)
    with db.session() as s:
        for province in KEC:
            load_regions(s, province, with_desa=False)
        reported = sum(start_year(s, defs, 2026, province=province, levels=["kecamatan"],
                                  now=started).notices for province in KEC)
        assert reported == s.scalar(select(func.count()).select_from(Notice)) > 0
        pending = {}
        for province, region in KEC.items():
            task = find_task(s, region, "analisis_situasi", 2026)
            pending[province] = [(n.kind, n.days) for n in s.scalars(
                select(Notice).where(Notice.task_id == task.id, Notice.status == "pending"))]
    # One pending notice per task: the first still to come.
    assert pending == {"19": [("reminder", 7)], "51": [("reminder", 1)], "91": [("reminder", 1)]}
    # Each fired notice schedules the next: the whole chain fires, each once, in order.
    for day in range(8, 25):
        tick(db, dt.datetime(2026, 1, day, 12, tzinfo=UTC))
    with db.session() as s:
        fired = {province: [(e.kind, e.payload["days"]) for e in s.scalars(
            select(Event).where(Event.region_code == region, Event.stage == "analisis_situasi",
                                Event.kind.in_(["reminder", "escalation"])).order_by(Event.id))]
                 for province, region in KEC.items()}
        assert s.scalar(select(func.count()).select_from(Notice).where(
            Notice.status == "pending", Notice.task_id == find_task(
                s, KEC["19"], "analisis_situasi", 2026).id)) == 0
    assert fired == {"19": [("reminder", 7), ("reminder", 1), ("escalation", 3)],
                     "51": [("reminder", 1), ("escalation", 3)],
                     "91": [("reminder", 1), ("escalation", 3)]}


def test_a_worker_down_for_days_fires_every_missed_notice_once_at_the_next_tick(three_zones):
    """No tick from 1 to 25 January: the one tick after fires the 7-day and the 1-day
    reminder and the escalation of analisis_situasi (due 15 January), each once."""
    region = KEC["19"]
    tick(three_zones, dt.datetime(2026, 1, 1, 12, tzinfo=UTC))
    report = tick(three_zones, dt.datetime(2026, 1, 25, tzinfo=UTC), batch=7)
    with three_zones.session() as s:
        fired = [(e.kind, e.payload["days"]) for e in s.scalars(
            select(Event).where(Event.region_code == region, Event.stage == "analisis_situasi",
                                Event.kind.in_(["reminder", "escalation"])).order_by(Event.id))]
    assert fired == [("reminder", 7), ("reminder", 1), ("escalation", 3)]
    assert report.reminders >= 2 and report.escalations >= 1
    assert tick(three_zones, dt.datetime(2026, 1, 25, 1, tzinfo=UTC)).reminders == 0


def test_cli_extend_and_inbox(three_zones, defs):
    import json

    with three_zones.session() as s:
        add_user(s, defs, "pengawas-19.01", role="supervisor", region="19.01")
        add_user(s, defs, "operator-a", role="operator", region=KEC["19"])
    runner = CliRunner()
    base = ["--db", three_zones.url]
    refused = runner.invoke(main, base + ["task", "extend", KEC["19"], "analisis_situasi",
                                          "--year", "2026", "--until", "2026-02-01",
                                          "--reason", "x", "--as", "operator-a"])
    assert refused.exit_code == 1 and "tidak mengawasi" in refused.output
    with time_machine.travel(dt.datetime(2026, 1, 5, tzinfo=UTC), tick=False):
        done = runner.invoke(main, base + ["task", "extend", "19.01", "analisis_situasi",
                                           "--level", "kecamatan", "--year", "2026",
                                           "--until", "2026-02-01", "--reason", "banjir",
                                           "--as", "pengawas-19.01", "--json"])
    assert done.exit_code == 0, done.output
    assert len(json.loads(done.stdout)["extended"]) == 8
    # New deadline 1 Feb 23:59:59 WIB: the 1-day reminder is 31 Jan 08:00 WIB (01:00Z).
    runner.invoke(main, base + ["tick", "--now", "2026-01-31T01:00Z"])
    inbox = runner.invoke(main, base + ["inbox", "--as", "operator-a", "--json"])
    assert inbox.exit_code == 0, inbox.output
    items = json.loads(inbox.stdout)
    assert [i["task"]["stage"] for i in items if "1 Februari 2026, 23.59 WIB" in i["message"]] \
        == ["analisis_situasi", "analisis_situasi"]  # the 7-day and 1-day reminders


def test_a_notice_for_a_deadline_since_extended_is_skipped_and_ends_its_chain(three_zones, defs):
    """What a tick that raced an extension can leave behind: a pending notice keyed by the
    old deadline. It must not fire, nor schedule more notices for the old deadline."""
    region = KEC["19"]
    with three_zones.session() as s:
        task = find_task(s, region, "analisis_situasi", 2026)
        old_due = task.due_at
        add_user(s, defs, "pengawas-19.01", role="supervisor", region="19.01")
        extend(s, area=region, stage="analisis_situasi", year=2026, until=dt.date(2026, 2, 10),
               reason="banjir", username="pengawas-19.01", now=dt.datetime(2026, 1, 5, tzinfo=UTC))
        # The racing tick's follower, committed after the extension replaced the notices.
        s.add(Notice(task_id=task.id, kind="reminder", rule=1, days=1, due_at=old_due,
                     fire_at=dt.datetime(2026, 1, 9, tzinfo=UTC), status="pending"))
        s.flush()
        stale = s.scalar(select(Notice.id).where(Notice.task_id == task.id,
                                                 Notice.due_at == old_due,
                                                 Notice.status == "pending"))
        assert stale is not None  # as the race would have left it
    report = tick(three_zones, dt.datetime(2026, 1, 9, 1, tzinfo=UTC))
    assert report.skipped >= 1
    assert _reminders(three_zones, region) == []
    with three_zones.session() as s:
        assert s.get(Notice, stale).status == "skipped"
        pending = s.scalars(select(Notice).where(Notice.task_id == task.id,
                                                 Notice.status == "pending")).all()
    assert [n.due_at for n in pending] == [dt.datetime(2026, 2, 10, 16, 59, 59, tzinfo=UTC)]
