"""A stage sent back (a return, a reopening: a trigger that needs a written reason and
does not finish the stage) tells those it now waits for, like a notice.

Delivered like ingatkan (runtime/nudges.py): a ``notices`` row (kind ``sent_back``,
already fired; its ``rule`` is the task version the action makes, so each action has
its own) and one inbox row per role and region the stage will wait for, in the action's
transaction. The action's own event (one per transition) names the notice, the
recipients and the message in its payload, as the clock's and ingatkan's events do:
e-mail (engine/mail) finds what to send by that ``notice``.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..definitions import Definition
from ..store.models import FormPart, Notice, Region
from .notices import _INSERT_INBOX
from .overdue import stored, waiting_for

SENT_BACK = "sent_back"  # the notice kind (a juknis-neutral name: "returned" is a state there)


def sends_back(definition: Definition, trigger: str, dest: str) -> bool:
    """Whether firing ``trigger`` into ``dest`` sends the stage back (returns, reopens)."""
    spec = definition.lifecycle.triggers.get(trigger)
    return bool(spec and spec.reason_required and not spec.by_system
                and dest != definition.lifecycle.done)


def tell(session: Session, task: Any, definition: Definition, *, trigger: str, dest: str,
         actor: str, reason: str | None, version: int, now: dt.datetime,
         parts: dict[str, str] | None = None) -> dict[str, Any]:
    """Write the notice and inbox rows of ``task`` about to be sent back to ``dest`` by
    ``actor``; return what the action's event payload adds (``notice``, ``recipients``,
    ``message``), empty when the stage will wait for no role. ``parts``: unit -> state
    of the parts after the action (default: as stored)."""
    after = SimpleNamespace(definition_hash=task.definition_hash, stage=task.stage, state=dest,
                            region_code=task.region_code, level=task.level)
    if parts is None:
        parts = dict(session.execute(select(FormPart.unit, FormPart.state)
                                     .where(FormPart.task_id == task.id)).all())
    recipients = sorted({(w.role, w.region_code)
                         for w in waiting_for(stored(session), after, parts)})
    if not recipients:
        return {}
    lc = definition.lifecycle
    place = session.scalar(select(Region.name).where(Region.code == task.region_code)) or ""
    message = (f"{lc.triggers[trigger].name} oleh {actor}: tahap "
               f"'{definition.stage(task.stage).name}' {task.region_code} {place} kini "
               f"'{lc.states[dest].name}'." + (f" Alasan: {reason}" if reason else ""))
    notice_id = session.connection().execute(
        Notice.__table__.insert().values(
            task_id=task.id, kind=SENT_BACK, rule=version, days=0, due_at=task.due_at,
            fire_at=now, status="fired", fired_at=now).returning(Notice.__table__.c.id)
    ).scalar_one()
    _INSERT_INBOX.write_many(session, [
        {"notice_id": notice_id, "task_id": task.id, "role": role, "region_code": code,
         "created_at": now, "message": message} for role, code in recipients])
    return {"notice": notice_id, "message": message,
            "recipients": [{"role": r, "region": c} for r, c in recipients]}
