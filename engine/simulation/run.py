"""Playing a year in virtual time: the engine's own year start, tick and actions, day by day.

Setup (in the simulator's own database: one that holds no case yet, a temporary one
for ``aksi simulate``, the real one for ``aksi demo``): schema, the province's regions,
the year started on the last day of the previous year (so every reminder is
scheduled), one synthetic user per role per region or, for a role with units, one per
unit. Then, from 1 January 00:00 UTC to 31 January of the next year (or up to a given
moment: `Simulation.play`), one step a day: the tick (openings, reminders,
escalations), then every open stage whose team's day has come is acted on, until
nothing more happens at that moment (an approval may open a stage that is then
finished the same day). Every engine call gets the virtual ``now``; the wall clock is
only read to say how long the run took.

Forms: before the first data-entry trigger of a stage (one with ``valid_forms``) its
documents are sampled once (`forms.documents`, with a tiny PDF uploaded for each file
field) and the operator saves them with the trigger. In a stage split into parts each
unit's operator saves its share of that one sample and submits its own part, each
unit's verifikator verifies it or (at the return rate) returns it with a reason, and
that unit submits it again; the approver acts on the whole.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import func, or_, select

from ..worker.tick import tick
from ..definitions import DefinitionSet
from ..errors import AksiError
from ..forms.entry import part_start_state
from ..forms.parts import parts_of
from ..definitions.forms.spec import spec_of
from ..people import add_user
from ..regions import load_regions
from ..runtime import act_on, find_task, start_year
from ..store import Database
from ..store.models import Case, Region, Task
from .actors import Cast, Policy, username
from .forms import attach_pdf, documents, rng_for, unit_share
from .plan import Planner, Timeline, Tracked, set_targets
from .report import SimulationReport, collect

UTC = dt.timezone.utc
# What reviewers write when they send a stage back (chosen by the task and its count of
# returns, not drawn: the seeded draws stay those of the year without them).
RETURN_REASONS = (
    "Data per desa belum lengkap; mohon dilengkapi",
    "Angka sasaran tidak sesuai data sumbernya; mohon dicek kembali",
    "Lampiran belum diunggah atau tidak terbaca",
    "Isian kegiatan belum sesuai rencana kerja; mohon diperbaiki",
    "Tanggal pelaksanaan tidak sesuai dengan dokumen pendukung",
)


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
             progress: Progress | None = None,
             files_dir: str | Path | None = None) -> SimulationReport:
    """Play ``settings.year`` and report. Without ``db_url``: a temporary SQLite, removed after,
    with the uploaded files beside it. With ``db_url``, the files go to ``files_dir`` or,
    without it, where ``aksi serve`` looks for them (``$AKSI_FILES``, else ``./aksi-files``)."""
    started = time.perf_counter()
    scratch = None
    if db_url is None:
        scratch = Path(tempfile.mkdtemp(prefix="aksi-simulate-"))
        db_url = f"sqlite:///{scratch / 'simulate.db'}"
        files_dir = files_dir or scratch / "files"
    db = Database(db_url)
    try:
        report = Simulation(db, definitions, settings, files_dir=files_dir).run(progress)
    finally:
        db.dispose()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    report.elapsed = time.perf_counter() - started
    return report


def _needs_desa(definitions: DefinitionSet) -> bool:
    """Are desa (tier 4) needed: a level of that tier, or a form with a row per desa or a
    field naming one?"""
    if max(d.tier for d in definitions) >= 4:
        return True
    for d in definitions:
        for form in d.forms:
            for section in spec_of(d, form).sections:
                if section.per == "desa" or any(f.ref in ("desa", "kelurahan")
                                                for f in section.fields):
                    return True
    return False


@dataclass
class Counters:
    actions: Counter = field(default_factory=Counter)  # trigger -> times fired
    returns: Counter = field(default_factory=Counter)  # (level, stage) -> returns
    reminders: int = 0  # from the tick reports
    escalations: int = 0
    refused: list[dict] = field(default_factory=list)


class Simulation:
    def __init__(self, db: Database, definitions: DefinitionSet, settings: Settings, *,
                 files_dir: str | Path | None = None, password_hash: str | None = None):
        self.db = db
        self.password_hash = password_hash  # of every synthetic user (None: no sign-in)
        self.definitions = definitions
        self.settings = settings
        self.files_dir = files_dir
        self.timeline = settings.timeline()
        self.policies = {(d.level, s.id): Policy.of(d, s.id) for d in definitions for s in d}
        self.planner = Planner(random.Random(settings.seed), self.timeline, settings.lateness,
                               settings.missed, settings.late_days,
                               key=f"{settings.seed}:{settings.year}")
        self.rng = self.planner.rng
        self.counters = Counters()
        self.tasks: dict[int, Tracked] = {}
        self.cast: Cast | None = None
        self._documents: dict[int, dict[str, dict]] = {}  # task id -> its sampled documents
        self._saved: set[tuple[int, str]] = set()  # (task id, unit or "") whose data is saved
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
            load_regions(session, s.province, with_desa=_needs_desa(self.definitions))
        with self.db.session() as session:
            start_year(session, self.definitions, s.year, province=s.province, now=start)
        names = []
        with self.db.session() as session:
            tiers = {d.tier: d for d in self.definitions}
            regions = session.execute(select(Region.code, Region.tier).where(
                self._in_scope(Region.code), Region.tier.in_(tiers)).order_by(Region.code)).all()
            for code, tier in regions:
                for role, spec in tiers[tier].roles.items():
                    for unit in spec.units or (None,):
                        name = username(role, code, unit, spec.units)
                        add_user(session, self.definitions, name, role=role, region=code,
                                 unit=unit, now=start, password_hash=self.password_hash)
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
        self.play(progress=progress)
        with self.db.session() as session:
            return collect(session, self.definitions, self.settings, self.timeline,
                           self.counters, self.planner.drawn)

    def play(self, until: dt.datetime | None = None, progress: Progress | None = None) -> int:
        """Set up, then play the steps before ``until`` (every step without it) and tick at
        ``until``: the year as it stands at that moment (the whole year's first days, up
        to the tick of a step at that very moment, before anyone acts on it). The number
        of steps played."""
        self.prepare()
        count = self.timeline.count
        if until is not None:
            count = max(0, min(count, self.timeline.steps_before(until)))
        for step in range(count):
            now = self.timeline.at(step)
            self._tick(now)
            while self._act_due(step, now):
                pass
            if progress:
                progress(1)
        if until is not None:
            self._tick(until)
        return count

    def _tick(self, now: dt.datetime) -> None:
        report = tick(self.db, now)
        self.counters.reminders += report.reminders
        self.counters.escalations += report.escalations
        self._stale = self._stale or report.opened > 0

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
            policy = self.policies[t.level, t.stage]
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

    def _draw_return(self, t: Tracked, returns: tuple | list) -> tuple:
        """(a return trigger, its reason) at the return rate while the cap allows, else
        (None, None)."""
        if (returns and t.returns < self.settings.max_returns
                and self.rng.random() < self.settings.return_rate):
            reason = RETURN_REASONS[(t.id + t.returns) % len(RETURN_REASONS)]
            return self.rng.choice(returns), reason
        return None, None

    def _act_once(self, t: Tracked, policy: Policy, step: int, now: dt.datetime) -> None:
        definition = self.definitions[t.level]
        parted = bool(definition.stage(t.stage).parts)
        lc = definition.lifecycle
        if parted and any(lc.acts_on_part(f.id) for f in policy.forward.get(t.state, ())):
            self._act_on_parts(t, policy, step, now)
            return
        trigger, reason = self._draw_return(t, policy.returns.get(t.state, ()))
        candidates = [trigger] if trigger else list(policy.forward.get(t.state, ()))
        chosen, who = None, []
        for candidate in candidates:
            who = self.cast.actors(candidate, t.level, t.region, parted=parted)
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
        data = None
        if chosen.needs_valid_forms and (t.id, "") not in self._saved:
            docs = self._sampled(t, now, lambda f: who[0])
            if docs is None:
                return
            data = {form: doc for form, doc in docs.items() if doc} or None
        if not self._fire(t, chosen, who[0], reason=reason, data=data, now=now):
            return
        if data:
            self._saved.add((t.id, ""))
        self._schedule(t, policy, step, chosen.id)

    def _act_on_parts(self, t: Tracked, policy: Policy, step: int, now: dt.datetime) -> None:
        """One step of a stage split into parts: every unit whose part the step concerns acts
        on its own part (submits it, or verifies or returns it); the stage follows."""
        definition = self.definitions[t.level]
        lc, units = definition.lifecycle, definition.stage(t.stage).parts
        with self.db.session() as session:
            states = {u: p.state for u, p in parts_of(session, t.id).items()}
        start = part_start_state(definition)
        fired = None
        for unit in units:
            state = states.get(unit) or start
            forward = [f for f in policy.forward.get(state, ()) if lc.acts_on_part(f.id)]
            if not forward:
                continue  # this part waits for the others (or for the approver)
            returns = [r for r in policy.returns.get(state, ()) if lc.acts_on_part(r.id)]
            trigger, reason = self._draw_return(t, returns)
            chosen, who = None, []
            for candidate in ([trigger] if trigger else []) + forward:
                who = self.cast.actors(candidate, t.level, t.region, unit=unit)
                if who:
                    chosen = candidate
                    break
            if chosen is None:
                t.stuck = (f"tidak ada pengguna simulasi unit {unit} yang boleh melakukan "
                           f"{' / '.join(f.id for f in forward)} pada bagian berstatus "
                           f"'{state}'")
                self._refused(t, None, t.stuck, unit=unit)
                return
            if chosen is not trigger:
                reason = None
            data = None
            if chosen.needs_valid_forms and (t.id, unit) not in self._saved:
                docs = self._sampled(t, now, lambda f: self._uploader(t, f))
                if docs is None:
                    return
                data = unit_share(definition, docs, unit) or None
            if not self._fire(t, chosen, who[0], reason=reason, data=data, now=now, unit=unit):
                return
            if data:
                self._saved.add((t.id, unit))
            fired = chosen.id
        if fired is None:
            t.stuck = f"tidak ada bagian yang dapat ditindaklanjuti pada status '{t.state}'"
            self._refused(t, None, t.stuck)
            return
        self._schedule(t, policy, step, fired)

    def _uploader(self, t: Tracked, f) -> str:
        """Who uploads a file field's file: an operator of the unit that owns the field."""
        definition = self.definitions[t.level]
        for trigger in definition.triggers(t.stage).values():
            if trigger.needs_valid_forms:
                who = (self.cast.actors(trigger, t.level, t.region, unit=f.unit) if f.unit
                       else []) or self.cast.actors(trigger, t.level, t.region)
                if who:
                    return who[0]
        return ""

    def _fire(self, t: Tracked, trigger, who: str, *, reason: str | None, data: dict | None,
              now: dt.datetime, unit: str | None = None) -> bool:
        """Fire one trigger in its own transaction; False (and reported) when refused."""
        try:
            with self.db.session() as session:
                result = act_on(session, t.region, t.stage, self.settings.year, trigger.id,
                                who, reason=reason, data=data, now=now)
        except AksiError as exc:
            t.stuck = exc.message
            self._refused(t, trigger.id, exc.message, getattr(exc, "problems", None),
                          unit=unit)
            return False
        self.counters.actions[trigger.id] += 1
        t.state = result.to_state
        self._stale = self._stale or bool(result.opened)
        if reason:
            t.returns += 1
            self.counters.returns[(t.level, t.stage)] += 1
        return True

    def _schedule(self, t: Tracked, policy: Policy, step: int, trigger: str) -> None:
        left = policy.steps_left(t.state)
        if left is None:
            t.stuck = f"status '{t.state}' tidak dapat mencapai '{policy.done}'"
            self._refused(t, trigger, t.stuck)
        elif left > 0:
            self.planner.schedule(t, step, left)

    def _sampled(self, t: Tracked, now: dt.datetime, uploader) -> dict[str, dict] | None:
        """The stage's documents, sampled once (in a transaction of their own, with the
        uploads of their files); None (and reported) when that is refused."""
        if t.id not in self._documents:
            definition = self.definitions[t.level]
            try:
                with self.db.session() as session:
                    task = find_task(session, t.region, t.stage, self.settings.year)
                    attach = attach_pdf(session, task, uploader=uploader, now=now,
                                        files_dir=self.files_dir)
                    s = self.settings
                    self._documents[t.id] = documents(
                        session, definition, task, attach=attach,
                        rng=lambda attempt: rng_for(s.seed, s.year, t.region, t.stage, attempt))
            except AksiError as exc:
                t.stuck = exc.message
                self._refused(t, None, exc.message, getattr(exc, "problems", None))
                return None
        return self._documents[t.id]

    def _refused(self, t: Tracked, trigger: str | None, message: str,
                 problems: list[str] | None = None, unit: str | None = None) -> None:
        entry = {"region": t.region, "level": t.level, "stage": t.stage, "state": t.state,
                 "trigger": trigger, "message": message}
        if unit:
            entry["unit"] = unit
        if problems:
            entry["problems"] = list(problems)
        self.counters.refused.append(entry)
