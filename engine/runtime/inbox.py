"""Reading the inbox: fired notices addressed to a role in a region the user holds.

Each item carries, beside the message written when it fired (``message``), what a page
needs to say it in the reader's words: the notice's kind, its days and deadline, and the
names (not ids) of the stage, its current state, the role addressed and the regions;
and whether this user has read it (``read``: runtime/reads.py).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ..people import Actor
from .notices import units_of
from .reads import addressed_to, is_read
from ..store.library import pinned
from ..store.models import DefinitionRow, InboxItem, Notice, Region, Task


def inbox_for(session: Session, user: Actor, *, limit: int = 100,
              before: int | None = None) -> list[dict]:
    """Newest first: every item addressed to one of ``user``'s (role, region) pairs;
    ``before``: only items older than the one with that id (paging)."""
    if not user.assignments:
        return []
    older = [InboxItem.id < before] if before is not None else []
    addressed = aliased(Region)
    rows = session.execute(
        select(InboxItem.id, InboxItem.created_at, InboxItem.role, InboxItem.region_code,
               InboxItem.units,
               InboxItem.message, Task.region_code.label("task_region"), Task.stage, Task.year,
               Task.state, Task.level, Task.definition_hash, Region.name.label("task_region_name"),
               Region.timezone, addressed.name.label("region_name"), addressed.tier,
               Notice.kind, Notice.days, Notice.due_at, is_read(user).label("read"))
        .join(Task, Task.id == InboxItem.task_id)
        .join(Region, Region.code == Task.region_code)
        .join(addressed, addressed.code == InboxItem.region_code)
        .join(Notice, Notice.id == InboxItem.notice_id)
        .where(addressed_to(user), *older)
        .order_by(InboxItem.id.desc()).limit(limit)).all()
    # A role is one of its region's level: the definition of that tier names it.
    stored = session.scalars(select(DefinitionRow.content_hash).order_by(DefinitionRow.stored_at))
    tiers = {d.tier: d for d in (pinned(session, h) for h in stored)}
    tiers.update({d.tier: d for d in (pinned(session, r.definition_hash) for r in rows)})
    out = []
    for r in rows:
        d = pinned(session, r.definition_hash)
        role = tiers.get(r.tier, d).roles.get(r.role)
        out.append({
            "id": r.id, "at": r.created_at.isoformat(), "role": r.role, "region": r.region_code,
            "units": units_of(r.units) or None,  # the parts' units (None: the whole stage)
            "task": {"region": r.task_region, "stage": r.stage, "year": r.year},
            "message": r.message, "kind": r.kind, "days": r.days,
            "due_at": r.due_at.isoformat(), "timezone": r.timezone,
            "role_name": role.name if role else r.role, "region_name": r.region_name,
            "task_region_name": r.task_region_name, "level": r.level,
            "stage_name": d.stage(r.stage).name if any(s.id == r.stage for s in d) else r.stage,
            "state_name": (d.lifecycle.states[r.state].name
                           if r.state in d.lifecycle.states else r.state),
            "done": r.state == d.lifecycle.done,
            "read": bool(r.read),  # by this user (runtime/reads.py)
        })
    return out
