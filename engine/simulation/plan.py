"""When each synthetic team means to finish a stage, and when it acts on it next.

A stage's fate is drawn once, when it opens: missed (never finished), late
(finished 1-60 days after its deadline) or on time (finished on a day drawn
between its opening and its *target*). Those draws come from the task's own
generator (seed, year, level, region, stage), not from the shared stream: a task
has the same fate whatever happened before it, so two sets of definitions played
with one seed (`aksi simulate --compare`) differ by what the change does, not by
draws that came in another order. The target is the stage's own deadline
or, when earlier, the target of any stage that cannot open before this one is
done: a follower in the same case (``after``) or the parent region's stage whose
``waits_for`` counts it. People who know the next deadline work to it, so with
no lateness every stage is on time unless the definitions leave no day for it.

Time is counted in steps (days) from the first step; a stage due at some moment
can be finished on time at any step not after that moment.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from ..definitions import DefinitionSet

ON_TIME, LATE, MISSED = "on_time", "late", "missed"


@dataclass(slots=True)
class Tracked:
    """One task as the simulator follows it."""

    id: int
    level: str
    stage: str
    region: str
    parent: str | None
    due_at: dt.datetime
    state: str
    target_at: dt.datetime | None = None
    fate: str | None = None  # drawn when it opens
    opened_step: int | None = None
    finish: int | None = None  # the step it is meant to reach done (None: never)
    next: int | None = None  # the step of its next action
    returns: int = 0
    stuck: str | None = None  # why the simulation could not go on with it


@dataclass(frozen=True)
class Timeline:
    """Steps of ``step`` length from ``first``."""

    first: dt.datetime
    step: dt.timedelta
    count: int

    def at(self, index: int) -> dt.datetime:
        return self.first + index * self.step

    def last_by(self, moment: dt.datetime) -> int:
        """The last step index not after ``moment`` (-1 when all are after it)."""
        return (moment - self.first) // self.step

    def steps_before(self, moment: dt.datetime) -> int:
        """How many steps come before ``moment`` (0 when all are at or after it)."""
        return max(0, -((self.first - moment) // self.step))

    @property
    def per_day(self) -> int:
        return max(1, dt.timedelta(days=1) // self.step)


def set_targets(tasks: dict[int, Tracked], definitions: DefinitionSet) -> None:
    """Fill ``target_at``: the earliest deadline this task's completion stands in the way of."""
    index = {(t.region, t.level, t.stage): t for t in tasks.values()}
    followers: dict[tuple[str, str], list[str]] = {}
    waiting: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for d in definitions:
        for s in d.stages:
            for dep in s.after:
                followers.setdefault((d.level, dep), []).append(s.id)
            if s.waits_for is not None:
                waiting.setdefault((s.waits_for.level, s.waits_for.stage), []).append(
                    (d.level, s.id))

    def target(t: Tracked, seen: frozenset = frozenset()) -> dt.datetime:
        if t.target_at is not None:
            return t.target_at
        best = t.due_at
        dependents = [index.get((t.region, t.level, s)) for s in followers.get((t.level, t.stage), ())]
        if t.parent is not None:
            dependents += [index.get((t.parent, lv, s))
                           for lv, s in waiting.get((t.level, t.stage), ())]
        for other in dependents:
            if other is not None and other.id not in seen:
                best = min(best, target(other, seen | {t.id}))
        t.target_at = best
        return best

    for t in tasks.values():
        target(t)


@dataclass
class Planner:
    """Draws fates and action days with one seeded generator (the same seed, the same year)."""

    rng: random.Random
    timeline: Timeline
    lateness: float
    missed: float
    late_days: tuple[int, int] = (1, 60)
    drawn: dict[str, int] = field(default_factory=lambda: {ON_TIME: 0, LATE: 0, MISSED: 0})
    key: str = ""  # what, besides the task, names the fates' generators: seed and year

    def fate_rng(self, t: Tracked) -> random.Random:
        """The generator of ``t``'s fate (str seeds hash the same in every process)."""
        return random.Random(f"aksi-fate:{self.key}:{t.level}:{t.region}:{t.stage}")

    def opened(self, t: Tracked, step: int, steps_left: int) -> None:
        """``t`` was seen open for the first time at ``step``: draw its fate and first action."""
        t.opened_step = step
        draw = self.fate_rng(t)
        if draw.random() < self.missed:
            t.fate = MISSED
        elif draw.random() < self.lateness:
            t.fate = LATE
        else:
            t.fate = ON_TIME
        self.drawn[t.fate] += 1
        if t.fate == MISSED:
            t.finish = t.next = None
            return
        if t.fate == LATE:
            low, high = self.late_days
            after = draw.randint(low * self.timeline.per_day, high * self.timeline.per_day)
            t.finish = max(step, self.timeline.last_by(t.due_at)) + after
        else:
            t.finish = draw.randint(step, max(step, self.timeline.last_by(t.target_at)))
        self.schedule(t, step, steps_left)

    def schedule(self, t: Tracked, step: int, steps_left: int) -> None:
        """Set the step of ``t``'s next action: spread the remaining actions up to its finish."""
        if t.finish is None:
            t.next = None
        elif t.finish <= step:
            t.next = step
        elif steps_left <= 1:
            t.next = t.finish
        else:
            t.next = step + self.rng.randint(0, (t.finish - step) // steps_left)
