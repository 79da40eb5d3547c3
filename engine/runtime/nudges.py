"""Ingatkan: a supervisor or approver reminds, now, the people a late stage waits for.

Delivered like a scheduled notice (runtime/notices.py): a ``notices`` row (kind
``nudge``, already fired), one inbox row per role and region waited for, and an event on
the task (kind ``nudge``, which webhooks deliver like every event), all in one
transaction. At most once a day per stage, the day counted in the region's time zone:
the task row is locked first, so two presses at the same moment are judged one after
the other and the second is refused. A refused nudge writes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..errors import NotFound, NotPermitted, Refused
from ..people import Actor
from ..regions.zones import spoken_moment
from ..store import events
from ..store.library import pinned
from ..store.models import FormPart, Notice, Region, Task
from .notices import described, recipients_of, write_inbox
from .overdue import (NUDGE, Waiting, attach_holders, day_key, days_late, may_chase_in, stored,
                      waiting_for)

_TASKS = Task.__table__


@dataclass(frozen=True)
class Nudged:
    notice_id: int
    recipients: list[Waiting]
    days_late: int


def nudge(session: Session, actor: Actor, *, region: str, stage: str, year: int,
          now: dt.datetime | None = None) -> Nudged:
    """Remind the roles ``stage`` of ``region`` waits for; `Refused` if it may not be."""
    now = now or utcnow()
    context = {"region": region, "stage": stage}
    if not may_chase_in(session, actor, region):
        raise NotPermitted(f"{actor.username} tidak mengawasi atau menyetujui di {region}",
                           **context)
    task = session.connection().execute(
        select(_TASKS).where(_TASKS.c.region_code == region, _TASKS.c.year == year,
                             _TASKS.c.stage == stage).with_for_update(key_share=True)).first()
    if task is None:
        raise NotFound(f"tidak ada tahap '{stage}' tahun {year} di {region}", **context)
    d = pinned(session, task.definition_hash)
    lc = d.lifecycle
    if task.state == lc.done:
        raise Refused(f"tahap '{d.stage(stage).name}' sudah {lc.states[lc.done].name.lower()}",
                      **context)
    if task.state == lc.initial:
        raise Refused(f"tahap '{d.stage(stage).name}' masih {lc.states[lc.initial].name.lower()}"
                      ": ingatkan tahap yang menghambatnya", **context)
    place = session.execute(select(Region.name, Region.timezone)
                            .where(Region.code == region)).one()
    key = day_key(now, place.timezone)
    if session.scalar(select(Notice.id).where(Notice.task_id == task.id, Notice.kind == NUDGE,
                                              Notice.rule == key)):
        raise Refused(f"tahap '{d.stage(stage).name}' {place.name} sudah diingatkan hari ini; "
                      "pengingat berikutnya dapat dikirim besok", **context)
    parts = dict(session.execute(select(FormPart.unit, FormPart.state)
                                 .where(FormPart.task_id == task.id)).all())
    waiting = waiting_for(stored(session), task, parts)
    recipients = recipients_of(waiting)
    if not recipients:
        raise Refused(f"tahap '{d.stage(stage).name}' tidak menunggu peran siapa pun", **context)
    late = days_late(task.due_at, place.timezone, now)
    message = _message(d, task, place, waiting, late, actor.username)
    notice_id = session.connection().execute(
        Notice.__table__.insert().values(
            task_id=task.id, kind=NUDGE, rule=key, days=late, due_at=task.due_at, fire_at=now,
            status="fired", fired_at=now).returning(Notice.__table__.c.id)).scalar_one()
    write_inbox(session, notice_id=notice_id, task_id=task.id, recipients=recipients, now=now,
                message=message)
    events.record(session, NUDGE, actor=actor.username, at=now, task=task,
                  from_state=task.state, to_state=task.state,
                  payload={"notice": notice_id, "days_late": late, "message": message,
                           "recipients": described(recipients),
                           "units": sorted({w.unit for w in waiting if w.unit})})
    attach_holders(session, waiting)
    return Nudged(notice_id, waiting, late)


def _message(d, task, place, waiting: list[Waiting], late: int, by: str) -> str:
    who = ", ".join(dict.fromkeys(f"{w.role_name}" + (f" ({w.unit})" if w.unit else "")
                                  for w in waiting))
    state = d.lifecycle.states[task.state].name
    when = spoken_moment(task.due_at, place.timezone)
    return (f"Pengingat dari {by}: tahap '{d.stage(task.stage).name}' {task.region_code} "
            f"{place.name} melewati tenggat {when} sejak {late} hari; status kini '{state}'. "
            f"Menunggu: {who}.")
