"""Playing a year in virtual time: the engine's own year start, tick and actions, day by day.

Setup (in the simulator's own database): schema, the province's regions, the
year started on the last day of the previous year (so every reminder is
scheduled), one synthetic user per role per region. Then, from 1 January
00:00 UTC to 31 January of the next year, one step a day: the tick (openings,
reminders, escalations), then every open stage whose team's day has come is
acted on, until nothing more happens at that moment (an approval may open a
stage that is then finished the same day). Every engine call gets the virtual
``now``; the wall clock is only read to say how long the run took.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import func, or_, select

from ..clock.tick import tick
from ..definitions import DefinitionSet
from ..errors import AksiError
from ..people import add_user
from ..regions import load_regions
from ..runtime import act_on, start_year
from ..store import Database
from ..store.models import Case, Region, Task
from .actors import Cast, Policy, username
from .forms import sample_forms
from .plan import Planner, Timeline, Tracked, set_targets
from .report import SimulationReport, collect

UTC = dt.timezone.utc
RETURN_REASON = "simulasi: dikembalikan untuk diperbaiki"


class SimulationError(Exception):
    """The simulation cannot run (e.g. the database named is not the simulator's own)."""


@dataclass(frozen=True)
class Settings:
    year: int
    province: str = "19"
    seed: int = 1
    lateness: float = 0.2  # share of the stages (not missed) finished after their deadline
    missed: float = 0.02  # share of the stages never finished
    return_rate: float = 0.1  # chance a reviewer sends a stage back, at each review
    late_days: tuple[int, int] = (1, 60)
    max_returns: int = 3  # per stage

    def __post_init__(self) -> None:
        for name in ("lateness", "missed", "return_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        low, high = self.late_days
        if not 1 <= low <= high:
            raise ValueError(f"late_days must be 1 <= low <= high, not {self.late_days}")

    @property
    def start(self) -> dt.datetime:
        """When the year is started: 00:00 UTC of the day before 1 January."""
        return dt.datetime(self.year, 1, 1, tzinfo=UTC) - dt.timedelta(days=1)

    def timeline(self) -> Timeline:
        first = dt.datetime(self.year, 1, 1, tzinfo=UTC)
        last = dt.datetime(self.year + 1, 1, 31, tzinfo=UTC)
        step = dt.timedelta(days=1)
        return Timeline(first, step, (last - first) // step + 1)

    def as_dict(self) -> dict:
        return {"year": self.year, "province": self.province, "seed": self.seed,
                "lateness": self.lateness, "missed": self.missed,
                "return_rate": self.return_rate, "late_days": list(self.late_days)}


Progress = Callable[[int], None]


def simulate(definitions: DefinitionSet, settings: Settings, *, db_url: str | None = None,
             progress: Progress | None = None) -> SimulationReport:
    """Play ``settings.year`` and report. Without ``db_url``: a temporary SQLite, removed after."""
    started = time.perf_counter()
    scratch = None
    if db_url is None:
        scratch = Path(tempfile.mkdtemp(prefix="aksi-simulate-"))
        db_url = f"sqlite:///{scratch / 'simulate.db'}"
    db = Database(db_url)
    try:
        report = Simulation(db, definitions, settings).run(progress)
    finally:
        db.dispose()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    report.elapsed = time.perf_counter() - started
    return report


@dataclass
class Counters:
    actions: Counter = field(default_factory=Counter)  # trigger -> times fired
    returns: Counter = field(default_factory=Counter)  # (level, stage) -> returns
    reminders: int = 0  # from the tick reports
    escalations: int = 0
    refused: list[dict] = field(default_factory=list)


class Simulation:
    def __init__(self, db: Database, definitions: DefinitionSet, settings: Settings):
        self.db = db
        self.definitions = definitions
        self.settings = settings
        self.timeline = settings.timeline()
        self.policies = {d.level: Policy.of(d) for d in definitions}
        self.planner = Planner(random.Random(settings.seed), self.timeline, settings.lateness,
                               settings.missed, settings.late_days)
        self.rng = self.planner.rng
        self.counters = Counters()
        self.tasks: dict[int, Tracked] = {}
        self.cast: Cast | None = None
        self._forms: dict[tuple[str, str], dict] = {}
        # States change behind the simulator's back only when a stage opens (by the tick, or
        # by the gate of an approval): then they are read again.
        self._stale = True

    # --- setup -------------------------------------------------------------------------------

    def _in_scope(self, column):
        p = self.settings.province
        return or_(column == p, column.startswith(p + "."))

    def prepare(self) -> None:
        s, start = self.settings, self.settings.start
        self.db.upgrade()
        with self.db.session() as session:
            if session.scalar(select(func.count()).select_from(Case)):
                raise SimulationError(
                    f"basis data {self.db.url} sudah berisi kasus: simulasi memerlukan basis "
                    "data sendiri (kosong), karena jam virtualnya menggerakkan semua kasus")
            deepest = max(d.tier for d in self.definitions)
            load_regions(session, s.province, with_desa=deepest >= 4)
        with self.db.session() as session:
            start_year(session, self.definitions, s.year, province=s.province, now=start)
        names = []
        with self.db.session() as session:
            tiers = {d.tier: d for d in self.definitions}
            regions = session.execute(select(Region.code, Region.tier).where(
                self._in_scope(Region.code), Region.tier.in_(tiers)).order_by(Region.code)).all()
            for code, tier in regions:
                for role in tiers[tier].roles:
                    name = username(role, code)
                    add_user(session, self.definitions, name, role=role, region=code, now=start)
                    names.append(name)
            for row in session.execute(select(
                    Task.id, Task.level, Task.stage, Task.region_code, Task.parent_code,
                    Task.due_at, Task.state).where(Task.year == s.year,
                                                   self._in_scope(Task.region_code))
                    .order_by(Task.id)).all():
                self.tasks[row.id] = Tracked(row.id, row.level, row.stage, row.region_code,
                                             row.parent_code, row.due_at, row.state)
        self.cast = Cast(self.definitions, names)
        set_targets(self.tasks, self.definitions)

    # --- the year ----------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> SimulationReport:
        self.prepare()
        for step in range(self.timeline.count):
            now = self.timeline.at(step)
            report = tick(self.db, now)
            self.counters.reminders += report.reminders
            self.counters.escalations += report.escalations
            self._stale = self._stale or report.opened > 0
            while self._act_due(step, now):
                pass
            if progress:
                progress(1)
        with self.db.session() as session:
            return collect(session, self.definitions, self.settings, self.timeline,
                           self.counters, self.planner.drawn)

    def _refresh(self) -> None:
        with self.db.session() as session:
            rows = session.execute(select(Task.id, Task.state).where(
                Task.year == self.settings.year, self._in_scope(Task.region_code))).all()
        for task_id, state in rows:
            self.tasks[task_id].state = state

    def _act_due(self, step: int, now: dt.datetime) -> bool:
        """One pass over the open stages; True when anything was done (look again)."""
        if self._stale:
            self._refresh()
            self._stale = False
        acted = False
        for t in self.tasks.values():  # in id order: the draws do not depend on dict history
            policy = self.policies[t.level]
            if t.state in (policy.initial, policy.done) or t.stuck:
                continue
            if t.opened_step is None:
                left = policy.steps_left(t.state)
                if left is None:
                    t.stuck = f"status '{t.state}' tidak dapat mencapai '{policy.done}'"
                    self._refused(t, None, t.stuck)
                    continue
                self.planner.opened(t, step, left)
            while t.next is not None and t.next <= step and not t.stuck \
                    and t.state != policy.done:
                self._act_once(t, policy, step, now)
                acted = True
        return acted

    def _act_once(self, t: Tracked, policy: Policy, step: int, now: dt.datetime) -> None:
        trigger, reason = None, None
        returns = policy.returns.get(t.state, ())
        if (returns and t.returns < self.settings.max_returns
                and self.rng.random() < self.settings.return_rate):
            trigger, reason = self.rng.choice(returns), RETURN_REASON
        candidates = [trigger] if trigger else list(policy.forward.get(t.state, ()))
        chosen, who = None, []
        for candidate in candidates:
            who = self.cast.actors(candidate, t.level, t.region)
            if who:
                chosen = candidate
                break
        if chosen is None:
            if trigger is not None:  # nobody may send it back here: go on instead
                t.returns = self.settings.max_returns
                return
            t.stuck = (f"tidak ada pengguna simulasi yang boleh melakukan "
                       f"{' / '.join(c.id for c in candidates) or '-'} pada status '{t.state}'")
            self._refused(t, None, t.stuck)
            return
        data = self._form_data(t) if chosen.needs_valid_forms else None
        try:
            with self.db.session() as session:
                result = act_on(session, t.region, t.stage, self.settings.year, chosen.id,
                                who[0], reason=reason, data=data, now=now)
        except AksiError as exc:
            t.stuck = exc.message
            self._refused(t, chosen.id, exc.message, getattr(exc, "problems", None))
            return
        self.counters.actions[chosen.id] += 1
        t.state = result.to_state
        self._stale = self._stale or bool(result.opened)
        if reason:
            t.returns += 1
            self.counters.returns[(t.level, t.stage)] += 1
        left = policy.steps_left(t.state)
        if left is None:
            t.stuck = f"status '{t.state}' tidak dapat mencapai '{policy.done}'"
            self._refused(t, chosen.id, t.stuck)
        elif left > 0:
            self.planner.schedule(t, step, left)

    def _form_data(self, t: Tracked) -> dict | None:
        key = (t.level, t.stage)
        if key not in self._forms:
            d = self.definitions[t.level]
            forms = json.loads(d.snapshot)["forms"]  # plain JSON, not the frozen views
            self._forms[key] = sample_forms(forms, d.stage(t.stage).outputs)
        return self._forms[key] or None

    def _refused(self, t: Tracked, trigger: str | None, message: str,
                 problems: list[str] | None = None) -> None:
        entry = {"region": t.region, "level": t.level, "stage": t.stage, "state": t.state,
                 "trigger": trigger, "message": message}
        if problems:
            entry["problems"] = list(problems)
        self.counters.refused.append(entry)
