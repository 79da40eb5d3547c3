"""Reminders and escalations: one pending at a time per task, fired once each by the clock.

When they fire (local time of the region):
- a reminder N days before: at 08:00 on the day N days before the due day;
- an escalation N days after: N days after the deadline moment (23:59:59 of the due day).

Every (task, kind, rule, due time) is one row of ``notices``, unique. A task has one
*pending* row, its next notice still to come: year start schedules the first, and the
transaction that fires (or skips) a notice schedules the one after it, so a national
year starts with one row per task rather than one per task and rule. Firing claims
rows with a conditional UPDATE (PostgreSQL first skips rows another worker has
locked), so each fires exactly once whatever the number of workers; the event, the
inbox rows and the next notice are written in the same transaction as the claim. A
notice whose moment passed while no worker ran fires at the next tick, unless its
stage is done by then (it is skipped, and the chain goes on: a stage reopened later
still gets its later notices). Notices whose moment was already past when the deadline
was extended are not scheduled. A year started late (a region adopting aksi in July) does
not leave its overdue stages unheard: of the escalations whose moment had passed at the
start, the latest is scheduled at its moment, so it fires once at the first tick and the
chain goes on with the escalations still to come (`first_at_start`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    Column, Index, Integer, MetaData, String, Table, bindparam, insert, literal, select, update,
)
from sqlalchemy.orm import Session

from ..clock.deadlines import due_at
from ..definitions import Definition, Stage
from ..people import role_region
from ..regions import ancestors
from ..regions.zones import ZONES, spoken_moment
from ..store.batches import among
from ..store.models import DefinitionRow, InboxItem, Notice, Region, Task
from ..store.prepared import Prepared
from ..store.types import UTCDateTime
from ..store import events
from ..store.library import pinned

REMINDER, ESCALATION = "reminder", "escalation"
_MORNING_GAP = dt.timedelta(hours=15, minutes=59, seconds=59)  # 08:00 to 23:59:59
_NOTICES = Notice.__table__
_INSERT_NOTICE = Prepared(insert(_NOTICES).values({c: bindparam(c) for c in (
    "task_id", "kind", "rule", "days", "due_at", "fire_at", "status")}))
_INSERT_INBOX = Prepared(insert(InboxItem.__table__).values({c: bindparam(c) for c in (
    "notice_id", "task_id", "role", "region_code", "units", "created_at", "message")}))


class Recipient(NamedTuple):
    """Whom an inbox item is addressed to: the holders of ``role`` in ``region_code``;
    with ``units`` (parts'), only those holding it for one of them or for none."""

    role: str
    region_code: str
    units: tuple[str, ...] = ()

    @property
    def stored_units(self) -> str | None:
        """``units`` as the inbox stores them: "|PLKB|Puskesmas|" (None: no unit)."""
        return "|" + "|".join(self.units) + "|" if self.units else None


def units_of(stored: str | None) -> list[str]:
    """The units of an inbox row's ``units`` (`Recipient.stored_units`)."""
    return [u for u in (stored or "").split("|") if u]


def recipients_of(waiting) -> list[Recipient]:
    """The recipients, one per role and region, in order, of what a stage waits for
    (`overdue.Waiting`: role, region and unit): with the units waited for, or none where
    the role is waited for on the whole stage."""
    units: dict[tuple[str, str], set[str] | None] = {}
    for w in waiting:
        key = (w.role, w.region_code)
        if w.unit is None or units.get(key, set()) is None:
            units[key] = None
        else:
            units.setdefault(key, set()).add(w.unit)
    return [Recipient(role, code, tuple(sorted(us or ())))
            for (role, code), us in sorted(units.items())]


def described(recipients: list[Recipient]) -> list[dict[str, Any]]:
    """The recipients as an event's payload names them (``units`` only where there are)."""
    return [{"role": r.role, "region": r.region_code,
             **({"units": list(r.units)} if r.units else {})} for r in recipients]


def write_inbox(session: Session, *, notice_id: int, task_id: int,
                recipients: list[Recipient], now: dt.datetime, message: str) -> None:
    """One inbox row per recipient of a fired notice."""
    _INSERT_INBOX.write_many(session, [
        {"notice_id": notice_id, "task_id": task_id, "role": r.role,
         "region_code": r.region_code, "units": r.stored_units, "created_at": now,
         "message": message}
        for r in recipients])


def offset(kind: str, days: int) -> dt.timedelta:
    """From the deadline to the notice. Deadlines are 23:59:59 local, so a reminder at
    08:00 local N days before the due day is N days and 15:59:59 earlier, in every zone."""
    if kind == ESCALATION:
        return dt.timedelta(days=days)
    return -(dt.timedelta(days=days) + _MORNING_GAP)


def fire_moment(kind: str, days: int, due: dt.datetime) -> dt.datetime:
    """When a notice ``days`` before/after the deadline ``due`` fires (UTC)."""
    return due + offset(kind, days)


def rules(stage: Stage) -> list[tuple[str, int, int]]:
    """(kind, rule index, days) of every notice of a stage."""
    return ([(REMINDER, i, n.days) for i, n in enumerate(stage.reminders)]
            + [(ESCALATION, i, n.days) for i, n in enumerate(stage.escalations)])


# The fire times of a level's notices per (stage, deadline), for the year being started.
# Temporary: it lives with the connection, so concurrent starts do not see each other's.
_SCHEDULE = Table(
    "notice_schedule", MetaData(),
    Column("stage", String(60)), Column("due_at", UTCDateTime()), Column("kind", String(20)),
    Column("rule", Integer), Column("days", Integer), Column("fire_at", UTCDateTime()),
    Index("ix_notice_schedule", "stage", "due_at"),
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


def sequence(stage: Stage) -> list[tuple[str, int, int]]:
    """A stage's notice rules in the order they fire (the earliest first)."""
    return sorted(rules(stage), key=lambda r: (offset(r[0], r[2]), r[0], r[1]))


def _row(kind: str, rule: int, days: int, due: dt.datetime) -> dict:
    return {"kind": kind, "rule": rule, "days": days, "due_at": due,
            "fire_at": fire_moment(kind, days, due), "status": "pending"}


def first_to_come(stage: Stage, due: dt.datetime, now: dt.datetime) -> dict | None:
    """The first notice of a task of ``stage`` due at ``due`` whose moment is later than
    ``now``, as a ``notices`` row; None when every moment has passed."""
    return next((row for row in (_row(*rule, due) for rule in sequence(stage))
                 if row["fire_at"] > now), None)


def first_at_start(stage: Stage, due: dt.datetime, now: dt.datetime) -> dict | None:
    """The notice a task of ``stage`` due at ``due`` starts with when its year starts at
    ``now``: the latest escalation already past (an overdue stage escalates once, at the
    first tick), else `first_to_come`."""
    passed = [row for row in (_row(*rule, due) for rule in sequence(stage))
              if row["fire_at"] <= now and row["kind"] == ESCALATION]
    return passed[-1] if passed else first_to_come(stage, due, now)


def following(stage: Stage, kind: str, rule: int, due: dt.datetime) -> dict | None:
    """The notice that comes after rule (``kind``, ``rule``) of ``stage``, whatever its
    moment (a worker down for days still sends it, late), as a ``notices`` row."""
    order = sequence(stage)
    keys = [(k, r) for k, r, _ in order]
    at = keys.index((kind, rule)) + 1 if (kind, rule) in keys else len(order)
    return _row(*order[at], due) if at < len(order) else None


def schedule_table(conn: Any, d: Definition, year: int, now: dt.datetime) -> Table | None:
    """The first notice of a level's stages, per deadline, in a temporary table
    (`first_at_start`: an escalation already past, or the first one still to come).

    A task's deadline at year start is its stage's due day in its region's zone, so the
    few (stage, deadline) pairs of a level - one per zone - determine every fire time:
    tasks find theirs by one indexed lookup, and no date arithmetic runs per task. (An
    indexed table, not a literal one: SQLite would compare each task with every row.)
    None when nothing is to come.
    """
    rows = []
    for stage in d.stages:
        for due in sorted({due_at(stage.due, year, zone, stage.roll) for zone in ZONES}):
            if (first := first_at_start(stage, due, now)) is not None:
                rows.append({"stage": stage.id, **{k: v for k, v in first.items()
                                                   if k != "status"}})
    if not rows:
        return None
    _SCHEDULE.create(conn, checkfirst=True)
    conn.execute(_SCHEDULE.delete())
    conn.execute(insert(_SCHEDULE), rows)
    return _SCHEDULE


def schedule_cases(conn: Any, case_ids: list[int], schedule: Table) -> int:
    """Insert the first pending notice of the new tasks of ``case_ids``; returns how many."""
    query = (select(Task.id, schedule.c.kind, schedule.c.rule, schedule.c.days, Task.due_at,
                    schedule.c.fire_at, literal("pending"))
             .select_from(Task)
             .join(schedule, (schedule.c.stage == Task.stage) & (schedule.c.due_at == Task.due_at))
             .where(among(Task.case_id, case_ids))
             # In key order: the unique index grows at its end. A case's tasks have
             # consecutive ids in case order (years.py inserts them so); ordering by the
             # case first lets SQLite read them by case id, where by Task.id alone it
             # scanned the whole table per batch (quadratic in a national year with desa).
             .order_by(Task.case_id, Task.id))
    return conn.execute(insert(_NOTICES).from_select(
        ["task_id", "kind", "rule", "days", "due_at", "fire_at", "status"], query),
        execution_options={"preserve_rowcount": True}).rowcount


def reschedule(session: Session, task: Any, stage: Stage, due: dt.datetime,
               now: dt.datetime, *, at_start: bool = False) -> int:
    """Replace a task's pending notice by the first one still to come for its new
    deadline ``due`` (``at_start``: the one a task starts with, `first_at_start`); returns
    how many were scheduled (0 or 1). A rule that already has a row for ``due`` (fired
    before a migration changed the rules) is not scheduled again."""
    conn = session.connection()
    conn.execute(_NOTICES.delete().where(_NOTICES.c.task_id == task.id,
                                         _NOTICES.c.status == "pending"))
    first = (first_at_start if at_start else first_to_come)(stage, due, now)
    had = set(conn.execute(select(_NOTICES.c.kind, _NOTICES.c.rule).where(
        _NOTICES.c.task_id == task.id, _NOTICES.c.due_at == due)).all())
    while first is not None and (first["kind"], first["rule"]) in had:
        first = following(stage, first["kind"], first["rule"], due)
    if first is None:
        return 0
    _INSERT_NOTICE.write(session, task_id=task.id, **first)
    return 1


@dataclass
class FireReport:
    reminders: int = 0
    escalations: int = 0
    skipped: int = 0  # their stage was done, or their deadline since extended
    next_due: int = 0  # notices scheduled after these whose moment has passed too

    @property
    def handled(self) -> int:
        return self.reminders + self.escalations + self.skipped


def fire_due(session: Session, now: dt.datetime, *, limit: int = 1000) -> FireReport:
    """Fire up to ``limit`` notices whose moment has come. Call in a transaction."""
    conn = session.connection()
    due = (select(_NOTICES.c.id)
           .where(_NOTICES.c.status == "pending", _NOTICES.c.fire_at <= now)
           .order_by(_NOTICES.c.fire_at, _NOTICES.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = conn.execute(due).scalars().all()
    report = FireReport()
    if not ids:
        return report
    claimed = conn.execute(
        update(_NOTICES).where(_NOTICES.c.id.in_(ids), _NOTICES.c.status == "pending")
        .values(status="fired", fired_at=now)
        .returning(_NOTICES.c.id, _NOTICES.c.task_id, _NOTICES.c.kind, _NOTICES.c.rule,
                   _NOTICES.c.days, _NOTICES.c.due_at)).all()
    if not claimed:
        return report
    tasks = {t.id: t for t in conn.execute(select(Task.__table__).where(
        Task.id.in_({c.task_id for c in claimed}))).all()}
    codes = {code for t in tasks.values() for code in (t.region_code, *ancestors(t.region_code))}
    regions = {r.code: r for r in conn.execute(
        select(Region.code, Region.name, Region.timezone).where(Region.code.in_(codes))).all()}
    tiers = _level_tiers(session)
    skipped, inbox, event_rows, next_rows = [], [], [], []
    for notice in claimed:
        task = tasks[notice.task_id]
        d = pinned(session, task.definition_hash)
        stage = d.stage(task.stage)
        if notice.due_at != task.due_at:
            # Scheduled for a deadline since extended (by a transaction that could not see
            # it yet): the extension scheduled the new deadline's notices; this chain ends.
            skipped.append(notice.id)
            continue
        after = following(stage, notice.kind, notice.rule, notice.due_at)
        if after is not None:
            next_rows.append({"task_id": task.id, **after})
            report.next_due += after["fire_at"] <= now
        if task.state == d.lifecycle.done:
            skipped.append(notice.id)
            continue
        refs = (stage.reminders if notice.kind == REMINDER else stage.escalations)[notice.rule].to
        recipients = [Recipient(*r) for r in (_recipient(ref, task, tiers) for ref in refs) if r]
        message = _message(notice, task, d, stage, regions, now)
        inbox += [{"notice_id": notice.id, "task_id": task.id, "role": r.role,
                   "region_code": r.region_code, "units": r.stored_units, "created_at": now,
                   "message": message} for r in recipients]
        event_rows.append({
            "at": now, "kind": notice.kind, "actor": events.SYSTEM_ACTOR,
            "case_id": task.case_id, "task_id": task.id, "region_code": task.region_code,
            "level": task.level, "year": task.year, "stage": task.stage,
            "from_state": task.state, "to_state": task.state,
            "payload": {"notice": notice.id, "rule": notice.rule, "days": notice.days,
                        "due_at": notice.due_at.isoformat(), "message": message,
                        "recipients": described(recipients)},
        })
        if notice.kind == REMINDER:
            report.reminders += 1
        else:
            report.escalations += 1
    if skipped:
        conn.execute(update(_NOTICES).where(_NOTICES.c.id.in_(skipped))
                     .values(status="skipped"))
        report.skipped = len(skipped)
    _INSERT_NOTICE.write_many(session, next_rows)
    _INSERT_INBOX.write_many(session, inbox)
    events.record_all(session, event_rows)
    return report


def _level_tiers(session: Session) -> dict[str, int]:
    """Level -> tier, from the definitions cases were started with."""
    hashes = session.execute(select(DefinitionRow.level, DefinitionRow.content_hash)).all()
    return {level: pinned(session, h).tier for level, h in hashes}


def _recipient(ref, task: Any, tiers: dict[str, int]) -> tuple[str, str] | None:
    """(role, region code) a role reference names for ``task``; None if there is none."""
    region = role_region(ref, task.region_code, tiers)
    return (ref.role, region) if region else None


def _message(notice: Any, task: Any, d: Definition, stage: Stage, regions: dict,
             now: dt.datetime) -> str:
    """The text stored with a fired notice. An escalation says how late the stage is when
    it fires: the rule's days, or more when it fires later (a year started late)."""
    region = regions.get(task.region_code)
    zone = region.timezone if region else "Asia/Jakarta"
    when = spoken_moment(notice.due_at, zone)
    where = f"{task.region_code} {region.name}" if region else task.region_code
    state = d.lifecycle.states[task.state].name if task.state in d.lifecycle.states else task.state
    if notice.kind == REMINDER:
        return (f"Pengingat: tahap '{stage.name}' {where} bertenggat {when} "
                f"({notice.days} hari lagi); status kini '{state}'.")
    late = max(notice.days, (now - notice.due_at).days)
    return (f"Eskalasi: tahap '{stage.name}' {where} melewati tenggat {when} "
            f"sejak {late} hari; status kini '{state}'.")
