"""Reading the inbox: fired notices addressed to a role in a region the user holds."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..people import Actor
from ..store.models import InboxItem, Task


def inbox_for(session: Session, user: Actor, *, limit: int = 100) -> list[dict]:
    """Newest first: every item addressed to one of ``user``'s (role, region) pairs."""
    pairs = {(a.role, a.region_code) for a in user.assignments}
    if not pairs:
        return []
    rows = session.execute(
        select(InboxItem.id, InboxItem.created_at, InboxItem.role, InboxItem.region_code,
               InboxItem.message, Task.region_code.label("task_region"), Task.stage, Task.year)
        .join(Task, Task.id == InboxItem.task_id)
        .where(or_(*(and_(InboxItem.role == r, InboxItem.region_code == c) for r, c in pairs)))
        .order_by(InboxItem.id.desc()).limit(limit)).all()
    return [{"id": r.id, "at": r.created_at.isoformat(), "role": r.role, "region": r.region_code,
             "task": {"region": r.task_region, "stage": r.stage, "year": r.year},
             "message": r.message} for r in rows]
