"""A year started late (a region adopting aksi in July): each stage already overdue by
one of its escalations escalates once, at the first tick, and not again at the next."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select

from engine.worker.tick import tick
from engine.people import actor
from engine.people import add_user
from engine.regions import load_regions
from engine.runtime import start_year
from engine.runtime.inbox import inbox_for
from engine.store.models import Event, Task

UTC = dt.timezone.utc
JULY = dt.datetime(2026, 7, 15, 3, 0, tzinfo=UTC)  # 15 July 2026, 10:00 WIB


def _overdue_tasks(session, defs, now: dt.datetime) -> set[int]:
    """Tasks whose stage has an escalation whose moment (N days after the deadline) passed."""
    out = set()
    for task in session.scalars(select(Task)):
        stage = defs[task.level].stage(task.stage)
        days = [e.days for e in stage.escalations]
        if days and task.due_at + dt.timedelta(days=min(days)) <= now:
            out.add(task.id)
    return out


def _escalations(session) -> Counter:
    return Counter(session.scalars(select(Event.task_id).where(Event.kind == "escalation")))


def test_a_year_started_in_july_escalates_each_overdue_stage_once(db, defs):
    with db.session() as s:
        load_regions(s, "19", with_desa=False)
        start_year(s, defs, 2026, province="19", levels=["kecamatan", "kabkota"], now=JULY)
        add_user(s, defs, "pengawas", role="supervisor", region="19.01", now=JULY)
        overdue = _overdue_tasks(s, defs, JULY)
        total = s.query(Task).count()
    assert overdue and len(overdue) < total  # some stages are overdue, some are not yet
    first = tick(db, JULY + dt.timedelta(minutes=1))
    with db.session() as s:
        fired = _escalations(s)
    assert set(fired) == overdue
    assert set(fired.values()) == {1}
    assert first.escalations == len(overdue)
    assert first.reminders == 0  # reminders of past deadlines are not sent late
    second = tick(db, JULY + dt.timedelta(minutes=2))
    assert second.escalations == 0
    with db.session() as s:
        assert _escalations(s) == fired
        # The kab/kota supervisor hears of the kecamatan below it.
        items = inbox_for(s, actor(s, "pengawas"), limit=1000)
    assert items and {i["kind"] for i in items} == {"escalation"}
    assert {i["task"]["region"][:5] for i in items} == {"19.01"}
    # Each says how late its stage is when it fires, not only the rule's days.
    for item in items:
        late = (JULY + dt.timedelta(minutes=1) - dt.datetime.fromisoformat(item["due_at"])).days
        assert f"sejak {late} hari" in item["message"], item["message"]
    assert any(late > 30 for late in ((JULY - dt.datetime.fromisoformat(i["due_at"])).days
                                      for i in items))


def test_a_year_started_on_time_escalates_nothing_at_its_first_tick(db, defs):
    """The control: before any deadline, the first tick escalates nothing."""
    start = dt.datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    with db.session() as s:
        load_regions(s, "19", with_desa=False)
        start_year(s, defs, 2026, province="19", levels=["kecamatan", "kabkota"], now=start)
    assert tick(db, start + dt.timedelta(minutes=1)).escalations == 0
