"""Which inbox items a user has read. An item is addressed to a role in a region (and,
parts', to units), so every holder of that role sees the same item; whether it is read is each reader's own
(``inbox_reads``: one row per user and item read).

Every function here touches only items addressed to one of the user's (role, region)
pairs: marking another region's item read changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import and_, exists, false, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..people import Actor
from ..store.models import Assignment, InboxItem, InboxRead, User
from ..store.types import UTCDateTime
from .notices import units_of

UNREAD_CAP = 100  # the navigation says "99+" beyond: counting further costs for nothing


def addressed_to(user: Actor):
    """The condition on ``InboxItem`` of items addressed to one of ``user``'s roles: in
    the role's region, and of no unit, of a unit the role is held for among the item's
    ``units``, or of any units where it is held for none (the Camat who returns one
    unit's part)."""
    grants = sorted({(a.role, a.region_code, a.unit) for a in user.assignments},
                    key=lambda g: (g[0], g[1], g[2] or ""))
    if not grants:
        return false()
    return or_(*(and_(InboxItem.role == r, InboxItem.region_code == c,
                      *([] if u is None else [or_(InboxItem.units.is_(None),
                                                  InboxItem.units.contains(f"|{u}|",
                                                                           autoescape=True))]))
                 for r, c, u in grants))


def holders(session: Session, notice_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(notice id, user id), sorted, of every active user an inbox item of ``notice_ids``
    is addressed to: the users whose inbox shows it (the rule of `addressed_to`, from the
    item's side). The e-mail channel (engine/mail) sends to them."""
    rows = session.execute(
        select(InboxItem.notice_id, User.id, InboxItem.units, Assignment.unit)
        .join(Assignment, and_(Assignment.role == InboxItem.role,
                               Assignment.region_code == InboxItem.region_code))
        .join(User, User.id == Assignment.user_id)
        .where(InboxItem.notice_id.in_(list(notice_ids)), User.active)).all()
    return sorted({(notice, user) for notice, user, units, unit in rows
                   if units is None or unit is None or unit in units_of(units)})


def _user_id(user: Actor):
    return select(User.id).where(User.username == user.username).scalar_subquery()


def is_read(user: Actor):
    """Whether the current ``InboxItem`` row was read by ``user``."""
    return exists().where(InboxRead.item_id == InboxItem.id, InboxRead.user_id == _user_id(user))


def unread_count(session: Session, user: Actor, *, cap: int = UNREAD_CAP) -> int:
    """How many items addressed to ``user`` they have not read, counted up to ``cap``
    (one indexed query: the recipient index, then the read rows by primary key)."""
    if not user.assignments:
        return 0
    unread = (select(InboxItem.id).where(addressed_to(user), ~is_read(user)).limit(cap)
              .subquery())
    return session.scalar(select(func.count()).select_from(unread)) or 0


def mark_read(session: Session, user: Actor, *, ids: Iterable[int] | None = None,
              up_to: int | None = None, now: dt.datetime | None = None) -> int:
    """Mark read, for ``user`` only, the items of ``ids`` or every item up to the id
    ``up_to`` (what the reader had on screen; later arrivals stay unread), of those
    addressed to them and not read yet. Returns how many were marked."""
    if ids is None and up_to is None:
        raise ValueError("ids or up_to")
    if not user.assignments:
        return 0
    which = InboxItem.id.in_(list(ids)) if ids is not None else InboxItem.id <= up_to
    query = select(_user_id(user), InboxItem.id, literal(now or utcnow(), UTCDateTime())).where(
        addressed_to(user), which, ~is_read(user))
    return session.execute(
        insert(InboxRead).from_select(["user_id", "item_id", "read_at"], query),
        execution_options={"preserve_rowcount": True}).rowcount
