"""Three worker processes tick through a whole year at once: everything happens exactly once."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections import Counter

from sqlalchemy import func, select

from engine.runtime import start_year
from engine.runtime.notices import rules
from engine.store.models import Event, InboxItem, Notice, Task

from .support import tick_through

UTC = dt.timezone.utc


def test_three_workers_fire_every_reminder_and_escalation_exactly_once(regions, defs):
    db = regions
    with db.session() as s:
        start_year(s, defs, 2026, province="19", now=dt.datetime(2025, 12, 1, tzinfo=UTC))
        # One pending notice per task; firing one schedules the next, so the year's total
        # is every rule of every task (all still to come on 1 December).
        by_kind = Counter()
        for task in s.scalars(select(Task)):
            by_kind.update(kind for kind, _, _ in rules(defs[task.level].stage(task.stage)))
        scheduled = sum(by_kind.values())
        assert s.scalar(select(func.count()).select_from(Notice)) == s.scalar(
            select(func.count()).select_from(Task))
    assert scheduled > 1000 and set(by_kind) == {"reminder", "escalation"}

    start = dt.datetime(2025, 12, 31, 1, tzinfo=UTC)
    moments = [(start + dt.timedelta(hours=12 * i)).isoformat() for i in range(2 * 380)]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    workers = [ctx.Process(target=tick_through, args=(db.url, moments, seed, barrier))
               for seed in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=600)
    assert [w.exitcode for w in workers] == [0, 0, 0]

    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Notice)
                        .where(Notice.status == "pending")) == 0
        fired = dict(s.execute(select(Notice.kind, func.count()).where(Notice.status == "fired")
                               .group_by(Notice.kind)).all())
        # Nobody acted, so no stage is done and every notice fired.
        assert fired == dict(by_kind)
        events = s.scalars(select(Event).where(Event.kind.in_(["reminder", "escalation"]))).all()
        per_notice = Counter(e.payload["notice"] for e in events)
        assert len(events) == scheduled
        assert set(per_notice.values()) == {1}
        assert Counter(e.kind for e in events) == Counter(by_kind)
        # Each fired notice's inbox rows were written once, with the notice.
        inbox = Counter(s.scalars(select(InboxItem.notice_id)).all())
        assert set(inbox) == set(per_notice)
        expected = {e.payload["notice"]: len(e.payload["recipients"]) for e in events}
        assert inbox == Counter(expected)
        # Date openings: no task opened twice.
        opens = Counter(s.scalars(select(Event.task_id).where(Event.kind == "open")).all())
        assert opens and set(opens.values()) == {1}
