"""A played year as it stands at a moment, read from the database: what ``aksi demo`` says.

- `standing` - per level, stages done on time and late, open and overdue, open, not
  open yet; returns given (events of triggers that need a reason), notices in inboxes,
  the penilaian of the regions whose scoring stage is done.
- `accounts` - every user holding a role in the province: username, role name, region
  name, unit, as a table to print.
- `suggested` - accounts worth trying, found in the data rather than named: the operator
  of a part sent back and waiting, who sent it back, who approved a stage there, and the
  supervising roles above.

It knows no level, stage, role or state name: all of it comes from the definitions.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..definitions import DefinitionSet
from ..runtime.notices import ESCALATION, REMINDER
from ..runtime.scoring import score_case
from ..store.library import pinned
from ..store.models import Assignment, Event, InboxItem, Region, Task, User
from .actors import username


def in_province(column, province: str):
    return or_(column == province, column.startswith(province + "."))


@dataclass
class Standing:
    levels: dict[str, Counter] = field(default_factory=dict)  # level -> counts
    bands: dict[str, Counter] = field(default_factory=dict)  # level -> band -> regions scored
    inbox: int = 0
    reminders: int = 0
    escalations: int = 0

    def total(self, key: str) -> int:
        return sum(c[key] for c in self.levels.values())


def _return_triggers(definitions: DefinitionSet) -> set[str]:
    return {t.id for d in definitions for t in d.lifecycle.triggers.values()
            if t.reason_required}


def standing(session: Session, definitions: DefinitionSet, province: str, year: int,
             at: dt.datetime) -> Standing:
    out = Standing()
    rows = session.execute(select(Task.level, Task.stage, Task.state, Task.due_at, Task.done_at,
                                  Task.case_id, Task.definition_hash, Task.region_code)
                           .where(Task.year == year, in_province(Task.region_code, province))
                           ).all()
    for r in rows:
        d = definitions[r.level]
        c = out.levels.setdefault(r.level, Counter())
        c["tasks"] += 1
        if r.state == d.lifecycle.done:
            c["on_time" if r.done_at <= r.due_at else "late"] += 1
            if d.scoring is not None and r.stage == d.scoring.stage:
                band = score_case(session, pinned(session, r.definition_hash), r.case_id).band
                out.bands.setdefault(r.level, Counter())[band or "-"] += 1
        elif r.state == d.lifecycle.initial:
            c["waiting"] += 1
        else:
            c["open"] += 1
            c["overdue"] += r.due_at < at
    returns = _return_triggers(definitions)
    for level, n in session.execute(select(Event.level, func.count()).where(
            Event.year == year, Event.kind.in_(returns),
            in_province(Event.region_code, province)).group_by(Event.level)).all():
        out.levels.setdefault(level, Counter())["returns"] += n
    kinds = dict(session.execute(select(Event.kind, func.count()).where(
        Event.year == year, Event.kind.in_([REMINDER, ESCALATION]),
        in_province(Event.region_code, province)).group_by(Event.kind)).all())
    out.reminders, out.escalations = kinds.get(REMINDER, 0), kinds.get(ESCALATION, 0)
    out.inbox = session.scalar(select(func.count()).select_from(InboxItem).join(
        Task, Task.id == InboxItem.task_id).where(
        Task.year == year, in_province(Task.region_code, province))) or 0
    return out


@dataclass(frozen=True)
class Account:
    username: str
    role: str  # the role's name
    region: str  # code and name
    unit: str


def accounts(session: Session, definitions: DefinitionSet, province: str) -> list[Account]:
    rows = session.execute(select(User.username, Assignment.level, Assignment.role,
                                  Assignment.region_code, Region.name, Assignment.unit)
                           .join(Assignment, Assignment.user_id == User.id)
                           .join(Region, Region.code == Assignment.region_code)
                           .where(in_province(Assignment.region_code, province))
                           .order_by(Assignment.region_code, Assignment.role, User.username)
                           ).all()
    out = []
    known = {d.level: d for d in definitions}
    for name, level, role, code, region_name, unit in rows:
        spec = known[level].roles.get(role) if level in known else None
        out.append(Account(name, spec.name if spec else role, f"{code} {region_name}",
                           unit or "-"))
    return out


def table(rows: list[Account]) -> list[str]:
    """The accounts as aligned text columns under Indonesian headings."""
    head = Account("nama pengguna", "peran", "wilayah", "unit")
    cells = [head, *rows]
    widths = [max(len(getattr(a, f)) for a in cells) for f in ("username", "role", "region")]
    lines = []
    for i, a in enumerate(cells):
        lines.append(f"{a.username:<{widths[0]}}  {a.role:<{widths[1]}}  "
                     f"{a.region:<{widths[2]}}  {a.unit}".rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  ----")
    return lines


def _returned(session: Session, definitions: DefinitionSet, task_id: int,
              unit: str) -> list[tuple[str, str]]:
    """Who submitted the part (or whole stage) ``unit`` of the task last, and who sent it
    back: from the task's events (their payload names the units a trigger moved)."""
    entry = {t.id for d in definitions for t in d.lifecycle.triggers.values()
             if t.needs_valid_forms}
    returns = _return_triggers(definitions)
    events = session.execute(select(Event.kind, Event.actor, Event.payload).where(
        Event.task_id == task_id, Event.kind.in_(entry | returns)).order_by(Event.id)).all()
    mine = [e for e in events if not unit or unit in ((e.payload or {}).get("units") or [])]
    sender = next((e for e in reversed(mine) if e.kind in returns), None)
    operator = next((e for e in reversed(mine) if e.kind in entry), None)
    out = []
    if operator is not None:
        out.append((operator.actor, "operator yang kirimannya dikembalikan, dengan alasan"))
    if sender is not None:
        reason = (sender.payload or {}).get("reason", "")
        out.append((sender.actor, f"yang mengembalikannya: \"{reason}\""))
    return out


def suggested(session: Session, definitions: DefinitionSet, province: str,
              year: int) -> list[tuple[str, str]]:
    """(username, why) of accounts worth trying first, deepest level first."""
    out: list[tuple[str, str]] = []
    deepest = max(definitions, key=lambda d: d.tier)
    sent_back = [t.dest for t in deepest.lifecycle.triggers.values() if t.reason_required]
    # The latest return at that level: a stage sent back waiting for its operator first.
    back = session.execute(select(Event.task_id, Event.region_code, Event.payload)
                           .join(Task, Task.id == Event.task_id)
                           .where(Event.year == year, Event.level == deepest.level,
                                  Event.kind.in_(_return_triggers(definitions)),
                                  in_province(Event.region_code, province))
                           .order_by(Task.state.in_(sent_back).desc(), Event.id.desc())).first()
    if back is not None:
        region = back.region_code
        units = (back.payload or {}).get("units") or [""]
        out += _returned(session, definitions, back.task_id, units[0])
    else:
        region = session.scalar(select(Region.code).where(
            Region.tier == deepest.tier, in_province(Region.code, province))
            .order_by(Region.code))
    if region is None:
        return out
    approver = session.scalar(select(Event.actor).where(
        Event.region_code == region, Event.year == year,
        Event.to_state == deepest.lifecycle.done).order_by(Event.id))
    if approver and approver not in [u for u, _ in out]:
        out.append((approver, "yang menyetujui tahap di wilayah itu"))
    code: str | None = region
    for d in sorted(definitions, key=lambda d: -d.tier):
        if code is None or code.count(".") + 1 != d.tier:
            continue
        for role_id, role in d.roles.items():
            if role.supervises:
                out.append((username(role_id, code), f"{role.name}: pantau wilayah {code} "
                                                     "dan di bawahnya"))
        code = code.rsplit(".", 1)[0] if "." in code else None
    return out
