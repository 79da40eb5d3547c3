"""Frozen workflow definitions, built from data that passed the checker.

A `Definition` never changes once built; cases refer to it by ``content_hash``
and keep its ``snapshot`` so that editing the YAML later never changes a
running case (``Definition.from_snapshot`` rebuilds it). The snapshot holds the
definition with its defaults filled in and the output form schemas it names,
so it is complete on its own.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from .dates import START_OF_YEAR, DayOfYear

SYSTEM = "system"
PARENT = "parent"


@dataclass(frozen=True, slots=True)
class RoleRef:
    """A role, optionally of another level: ``approver``, ``parent:supervisor``."""

    role: str
    level: str | None = None  # None: the definition's own level; "parent"; or a level id

    @classmethod
    def parse(cls, text: str) -> "RoleRef":
        level, _, role = text.rpartition(":")
        return cls(role=role, level=level or None)

    def __str__(self) -> str:
        return f"{self.level}:{self.role}" if self.level else self.role


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    name: str
    description: str = ""
    count: int | None = None
    units: tuple[str, ...] = ()
    supervises: bool = False


@dataclass(frozen=True, slots=True)
class State:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Trigger:
    id: str
    name: str
    sources: tuple[str, ...]
    dest: str
    by: tuple[RoleRef, ...]
    reason_required: bool = False
    needs_valid_forms: bool = False
    # Separation of duties: whoever last fired one of these triggers on the stage (on the
    # same part, in a stage split into parts) may not fire this one (runtime/duties.py).
    not_by: tuple[str, ...] = ()

    @property
    def by_system(self) -> bool:
        return any(r.role == SYSTEM and r.level is None for r in self.by)


@dataclass(frozen=True, slots=True)
class Lifecycle:
    initial: str
    opens_with: str
    done: str
    states: Mapping[str, State]
    triggers: Mapping[str, Trigger]
    on_child_reopened: str = "notify"
    # Triggers that act on one unit's part of a stage split into parts: the stage takes
    # an `all` trigger's state once every part has reached it (or a later `all` state),
    # an `any` trigger's state as soon as one part takes it.
    parts_all: tuple[str, ...] = ()
    parts_any: tuple[str, ...] = ()

    def acts_on_part(self, trigger: str) -> bool:
        return trigger in self.parts_all or trigger in self.parts_any


@dataclass(frozen=True, slots=True)
class Notice:
    """A reminder (``days`` before due) or an escalation (``days`` after due)."""

    days: int
    to: tuple[RoleRef, ...]


@dataclass(frozen=True, slots=True)
class WaitsFor:
    level: str
    stage: str
    state: str | None  # filled in by the loader: the child lifecycle's done state by default
    quorum_percent: int  # 100 = all

    @property
    def needs_all(self) -> bool:
        return self.quorum_percent == 100


@dataclass(frozen=True, slots=True)
class Stage:
    id: str
    name: str
    group: str
    kind: str
    opens: DayOfYear
    due: DayOfYear
    after: tuple[str, ...]
    waits_for: WaitsFor | None
    outputs: tuple[str, ...]
    reminders: tuple[Notice, ...]
    escalations: tuple[Notice, ...]
    description: str = ""
    roll: str | None = None  # "next_working_day": a due day off work moves forward
    parts: tuple[str, ...] = ()  # units whose operators each submit their part
    # Who fires which trigger in this stage, where it differs from the lifecycle's `by`
    # (trigger id -> roles); e.g. the Sekda approves the penilaian, the Kepala Bappeda
    # every other stage.
    by: tuple[tuple[str, tuple[RoleRef, ...]], ...] = ()
    # The stage's effective triggers: the lifecycle's, with `by` overridden. Derived from
    # the two above, so left out of equality and hashing. Read it through
    # `Stage.trigger` / `Definition.trigger`, never `lifecycle.triggers`, wherever a
    # task's stage is known: whoever may act depends on the stage.
    triggers: Mapping[str, Trigger] = field(default_factory=lambda: MappingProxyType({}),
                                            compare=False)

    def trigger(self, trigger_id: str) -> Trigger:
        return self.triggers[trigger_id]


@dataclass(frozen=True, slots=True)
class Criterion:
    stage: str | None  # a stage criterion: done (or on time); None for a measure of form data
    weight: float
    when: str  # "done" or "on_time"
    name: str = ""
    measure: Mapping[str, Any] | None = None  # {"coverage"|"ratio"|"rows"|"children": {...}}


@dataclass(frozen=True, slots=True)
class Band:
    name: str
    min: float


@dataclass(frozen=True, slots=True)
class Scoring:
    stage: str
    criteria: tuple[Criterion, ...]
    bands: tuple[Band, ...]  # highest minimum first

    def classify(self, score: float) -> str | None:
        for band in self.bands:
            if score >= band.min:
                return band.name
        return None


@dataclass(frozen=True, slots=True, eq=False)
class Definition:
    """One level's workflow; equal definitions have equal content hashes."""

    level: str
    version: str
    title: str
    source: str
    tier: int
    groups: Mapping[str, str]
    roles: Mapping[str, Role]
    lifecycle: Lifecycle
    stages: tuple[Stage, ...]
    scoring: Scoring | None
    forms: Mapping[str, Mapping[str, Any]]  # output form id -> its JSON Schema
    form_rules: Mapping[str, Mapping[str, Any]]  # output form id -> its rules file (may be absent)
    snapshot: str  # canonical JSON of {"definition": data, "forms": forms, "rules": rules}
    content_hash: str  # sha256 of the snapshot

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Definition) and other.content_hash == self.content_hash

    def __hash__(self) -> int:
        return hash(self.content_hash)

    def stage(self, stage_id: str) -> Stage:
        for s in self.stages:  # a dozen stages: a scan beats keeping an index in sync
            if s.id == stage_id:
                return s
        raise KeyError(f"level {self.level!r} has no stage {stage_id!r}")

    def __iter__(self) -> Iterator[Stage]:
        return iter(self.stages)

    def triggers(self, stage_id: str) -> Mapping[str, Trigger]:
        """The triggers of a stage, each with the roles that fire it in that stage."""
        return self.stage(stage_id).triggers

    def trigger(self, stage_id: str, trigger_id: str) -> Trigger:
        """One trigger as it applies in one stage (the stage's `by` over the lifecycle's)."""
        return self.stage(stage_id).triggers[trigger_id]

    @classmethod
    def from_data(cls, data: Mapping[str, Any],
                  forms: Mapping[str, Mapping[str, Any]] | None = None,
                  rules: Mapping[str, Mapping[str, Any]] | None = None) -> "Definition":
        content = {"definition": data, "forms": dict(forms or {}), "rules": dict(rules or {})}
        # Key order is kept (not sorted): it is the order states, roles and groups are shown in.
        snapshot = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        return cls.from_snapshot(snapshot)

    @classmethod
    def from_snapshot(cls, snapshot: str) -> "Definition":
        content = json.loads(snapshot)
        return _build(content["definition"], content["forms"], content.get("rules", {}), snapshot)


def _frozen(value: Any) -> Any:
    """A read-only copy, all the way down: mappings become proxies, lists tuples."""
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _ids(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _notices(items: list[dict], key: str) -> tuple[Notice, ...]:
    return tuple(Notice(i[key], tuple(RoleRef.parse(t) for t in i["to"])) for i in items)


def _roles(value: str | list[str]) -> tuple[RoleRef, ...]:
    return tuple(RoleRef.parse(r) for r in _ids(value))


def _stage_triggers(lifecycle: Lifecycle,
                    by: tuple[tuple[str, tuple[RoleRef, ...]], ...]) -> Mapping[str, Trigger]:
    if not by:
        return lifecycle.triggers  # shared: most stages keep the level's roles
    own = dict(by)
    return MappingProxyType({tid: replace(t, by=own[tid]) if tid in own else t
                             for tid, t in lifecycle.triggers.items()})


def _quorum(text: str | None) -> int:
    return 100 if text in (None, "all") else int(text.rstrip("%"))


def _build(d: dict, forms: dict, rules: dict, snapshot: str) -> Definition:
    lc = d["lifecycle"]
    lifecycle = Lifecycle(
        initial=lc["initial"],
        opens_with=lc["opens_with"],
        done=lc["done"],
        states=MappingProxyType({
            k: State(k, v["name"], v.get("description", "")) for k, v in lc["states"].items()
        }),
        triggers=MappingProxyType({
            k: Trigger(
                id=k, name=v["name"], sources=_ids(v["from"]), dest=v["to"],
                by=_roles(v["by"]),
                reason_required=v.get("reason", False),
                needs_valid_forms=v.get("valid_forms", False),
                not_by=_ids(v.get("not_by")),
            )
            for k, v in lc["triggers"].items()
        }),
        on_child_reopened=lc.get("on_child_reopened", "notify"),
        parts_all=tuple(lc.get("parts", {}).get("all", ())),
        parts_any=tuple(lc.get("parts", {}).get("any", ())),
    )
    defaults = d.get("defaults", {})
    stages = []
    for s in d["stages"]:
        wf = s.get("waits_for")
        by = tuple((tid, _roles(roles)) for tid, roles in s.get("by", {}).items())
        stages.append(Stage(
            id=s["id"], name=s["name"], group=s["group"], kind=s["kind"],
            opens=DayOfYear.parse(s["opens"]) if "opens" in s else START_OF_YEAR,
            due=DayOfYear.parse(s["due"]),
            after=tuple(s.get("after", ())),
            waits_for=WaitsFor(wf["level"], wf["stage"], wf.get("state"),
                               _quorum(wf.get("quorum"))) if wf else None,
            outputs=tuple(s.get("outputs", ())),
            reminders=_notices(s.get("reminders", defaults.get("reminders", [])), "before"),
            escalations=_notices(s.get("escalations", defaults.get("escalations", [])), "after"),
            description=s.get("description", ""),
            roll=s.get("roll") if s.get("roll") != "none" else None,
            parts=tuple(s.get("parts", ())),
            by=by,
            triggers=_stage_triggers(lifecycle, by),
        ))
    sc = d.get("scoring")
    scoring = Scoring(
        stage=sc["stage"],
        criteria=tuple(Criterion(c.get("stage"), c["weight"], c.get("when", "done"),
                                 c.get("name", ""), _frozen(c.get("measure")))
                       for c in sc["criteria"]),
        bands=tuple(sorted((Band(b["name"], b["min"]) for b in sc["bands"]),
                           key=lambda b: -b.min)),
    ) if sc else None
    return Definition(
        level=d["level"], version=d["version"], title=d["title"], source=d["source"],
        tier=d["tier"],
        groups=MappingProxyType(dict(d.get("groups", {}))),
        roles=MappingProxyType({
            k: Role(k, v["name"], v.get("description", ""), v.get("count"),
                    tuple(v.get("units", ())), v.get("supervises", False))
            for k, v in d["roles"].items()
        }),
        lifecycle=lifecycle,
        stages=tuple(stages),
        scoring=scoring,
        forms=_frozen(forms),
        form_rules=_frozen(rules),
        snapshot=snapshot,
        content_hash=hashlib.sha256(snapshot.encode()).hexdigest(),
    )


@dataclass(frozen=True)
class DefinitionSet:
    """The definitions of every level, loaded together; levels are related by tier."""

    definitions: Mapping[str, Definition]

    def __post_init__(self) -> None:
        object.__setattr__(self, "definitions", MappingProxyType(dict(self.definitions)))

    def __getitem__(self, level: str) -> Definition:
        try:
            return self.definitions[level]
        except KeyError:
            known = ", ".join(self.definitions) or "none"
            raise KeyError(f"no definition for level {level!r} (loaded: {known})") from None

    def __iter__(self) -> Iterator[Definition]:
        return iter(sorted(self.definitions.values(), key=lambda d: -d.tier))

    def __len__(self) -> int:
        return len(self.definitions)

    def by_tier(self, tier: int) -> Definition | None:
        return next((d for d in self.definitions.values() if d.tier == tier), None)

    def child_of(self, level: str) -> Definition | None:
        return self.by_tier(self[level].tier + 1)

    def parent_of(self, level: str) -> Definition | None:
        return self.by_tier(self[level].tier - 1)

    def resolve(self, level: str, ref: RoleRef) -> tuple[Definition, str] | None:
        """The definition and role id a role reference made at ``level`` means."""
        if ref.level is None:
            target = self[level]
        elif ref.level == PARENT:
            target = self.parent_of(level)
        else:
            target = self.definitions.get(ref.level)
        return (target, ref.role) if target is not None else None
