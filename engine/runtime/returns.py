"""A stage sent back (a return, a reopening: a trigger that needs a written reason and
does not finish the stage) tells those it now waits for, like a notice.

Delivered like ingatkan (runtime/nudges.py): a ``notices`` row (kind ``sent_back``,
already fired; its ``rule`` is the task version the action makes, so each action has
its own) and one inbox row per role, region and unit the stage will wait for (a part's
unit: its holders for another unit are not told), in the action's
transaction. The action's own event (one per transition) names the notice, the
recipients and the message in its payload, as the clock's and ingatkan's events do:
e-mail (engine/mail) finds what to send by that ``notice``.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..definitions import Definition
from ..store.models import FormPart, Notice, Region
from .notices import Recipient, described, recipients_of, write_inbox
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
    if parts is None:
        parts = dict(session.execute(select(FormPart.unit, FormPart.state)
                                     .where(FormPart.task_id == task.id)).all())
    recipients = _recipients(session, task, dest, parts)
    lc = definition.lifecycle
    return _write(session, task, rule=version, recipients=recipients, now=now, message=(
        f"{lc.triggers[trigger].name} oleh {actor}: tahap "
        f"'{definition.stage(task.stage).name}' {_place(session, task)} kini "
        f"'{lc.states[dest].name}'." + (f" Alasan: {reason}" if reason else "")))


def tell_parts(session: Session, task: Any, definition: Definition, *, trigger: str,
               units: list[str], actor: str, reason: str | None, now: dt.datetime,
               parts: dict[str, str]) -> dict[str, Any]:
    """Like `tell`, for parts sent back while the stage stays where it is (one unit's part
    returned while the others are still being filled in, or after another was returned):
    those the returned parts now wait for are told, and no one else.

    The stage's version does not change, so the notice's ``rule`` numbers these returns
    downwards from -1 (a stage's own returns count its versions upwards); the stage row is
    locked by the part move (forms.entry.lock_stage), so two of them never take one number.
    """
    lc = definition.lifecycle
    dest = lc.triggers[trigger].dest
    if not sends_back(definition, trigger, dest):
        return {}
    recipients = _recipients(session, task, task.state, parts, units=set(units))
    lowest = session.scalar(select(func.min(Notice.rule)).where(
        Notice.task_id == task.id, Notice.kind == SENT_BACK, Notice.rule < 0))
    return _write(session, task, rule=(lowest or 0) - 1, recipients=recipients, now=now,
                  message=(f"{lc.triggers[trigger].name} oleh {actor}: bagian "
                           f"{', '.join(units)} pada tahap '{definition.stage(task.stage).name}' "
                           f"{_place(session, task)} kini '{lc.states[dest].name}'."
                           + (f" Alasan: {reason}" if reason else "")))


def _recipients(session: Session, task: Any, state: str, parts: dict[str, str], *,
                units: set[str] | None = None) -> list[Recipient]:
    """(role, region, unit) of those ``task`` waits for once in ``state`` with ``parts``
    (unit None: not one part's); with ``units``, only those waited for on these units' parts."""
    after = SimpleNamespace(definition_hash=task.definition_hash, stage=task.stage, state=state,
                            region_code=task.region_code, level=task.level)
    return recipients_of([w for w in waiting_for(stored(session), after, parts)
                          if units is None or w.unit in units])


def _place(session: Session, task: Any) -> str:
    name = session.scalar(select(Region.name).where(Region.code == task.region_code)) or ""
    return f"{task.region_code} {name}".strip()


def _write(session: Session, task: Any, *, rule: int, recipients: list[Recipient],
           message: str, now: dt.datetime) -> dict[str, Any]:
    """The fired notice and one inbox row per recipient; what the event's payload adds."""
    if not recipients:
        return {}
    notice_id = session.connection().execute(
        Notice.__table__.insert().values(
            task_id=task.id, kind=SENT_BACK, rule=rule, days=0, due_at=task.due_at,
            fire_at=now, status="fired", fired_at=now).returning(Notice.__table__.c.id)
    ).scalar_one()
    write_inbox(session, notice_id=notice_id, task_id=task.id, recipients=recipients, now=now,
                message=message)
    return {"notice": notice_id, "message": message, "recipients": described(recipients)}
