"""The e-mails themselves: Jinja2 templates (plain text and HTML) in Bahasa Indonesia,
as ``multipart/alternative`` messages of the standard library's `email` package.

The Message-ID carries the event id (a digest's: its first and last), so a message
sent again after a crash is recognisably the same one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..regions.zones import spoken_moment
from ..store.library import pinned
from ..store.models import Event, Notice as NoticeRow, Region, Task
from .config import SmtpSettings

LABELS = {"reminder": "Pengingat", "escalation": "Eskalasi", "nudge": "Ingatkan",
          "sent_back": "Dikembalikan"}

_env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                   autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


@dataclass(frozen=True)
class Notice:
    """One event as an e-mail tells it."""

    event_id: int
    label: str
    message: str
    stage_name: str
    region: str
    region_name: str
    year: int | None
    at: str
    url: str


def notices(session: Session, settings: SmtpSettings, event_ids) -> dict[int, Notice]:
    """The events ``event_ids`` as `Notice`s, by id."""
    rows = session.execute(
        select(Event.id, Event.kind, Event.at, Event.region_code, Event.year, Event.stage,
               Event.payload, Task.definition_hash, Region.name, Region.timezone)
        .outerjoin(Task, Task.id == Event.task_id)
        .outerjoin(Region, Region.code == Event.region_code)
        .where(Event.id.in_(list(event_ids)))).all()
    # What an item is comes from its notice's kind (a return's event is named after its trigger).
    kind_of = dict(session.execute(select(NoticeRow.id, NoticeRow.kind).where(NoticeRow.id.in_(
        [r.payload["notice"] for r in rows if isinstance(r.payload, dict)
         and isinstance(r.payload.get("notice"), int)]))).all())
    out = {}
    for r in rows:
        stage_name = r.stage or ""
        if r.definition_hash and r.stage:
            d = pinned(session, r.definition_hash)
            if any(s.id == r.stage for s in d):
                stage_name = d.stage(r.stage).name
        payload = r.payload if isinstance(r.payload, dict) else {}
        kind = kind_of.get(payload.get("notice"), r.kind)
        out[r.id] = Notice(
            event_id=r.id, label=LABELS.get(kind, kind), message=payload.get("message", ""),
            stage_name=stage_name, region=r.region_code or "", region_name=r.name or "",
            year=r.year, at=spoken_moment(r.at, r.timezone or "Asia/Jakarta"),
            url=settings.stage_url(r.year, r.region_code, r.stage) if r.stage else
            settings.base_url)
    return out


def _message(settings: SmtpSettings, to: str, subject: str, message_id: str, when: dt.datetime,
             template: str, **context) -> EmailMessage:
    context = {**context, "settings_url": settings.settings_url(), "base_url": settings.base_url}
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    msg.set_content(_env.get_template(f"{template}.txt").render(**context))
    msg.add_alternative(_env.get_template(f"{template}.html").render(**context), subtype="html")
    # The same bytes on every attempt: a boundary of the Message-ID, not a random one.
    msg.set_boundary("=_aksi_" + hashlib.sha256(message_id.encode()).hexdigest()[:32])
    return msg


def message_id(settings: SmtpSettings, *, user_id: int, event_id: int | None = None,
               digest: tuple[dt.date, int, int] | None = None) -> str:
    if digest is not None:
        day, first, last = digest
        return f"<aksi.ringkasan-{day:%Y%m%d}.u{user_id}.e{first}-{last}@{settings.domain}>"
    return f"<aksi.e{event_id}.u{user_id}@{settings.domain}>"


def single(settings: SmtpSettings, *, to: str, name: str, user_id: int, notice: Notice,
           when: dt.datetime) -> EmailMessage:
    """The e-mail of one event."""
    where = f"{notice.region_name or notice.region}"
    subject = f"[Aksi] {notice.label}: {notice.stage_name} {where}".strip()
    return _message(settings, to, subject,
                    message_id(settings, user_id=user_id, event_id=notice.event_id), when,
                    "message", name=name, notice=notice)


def digest(settings: SmtpSettings, *, to: str, name: str, user_id: int, day: dt.date,
           items: list[Notice], when: dt.datetime) -> EmailMessage:
    """The daily digest of ``items`` (oldest first)."""
    ids = [n.event_id for n in items] or [0]
    subject = f"[Aksi] Ringkasan harian {day:%d-%m-%Y}: {len(items)} pemberitahuan"
    return _message(settings, to, subject,
                    message_id(settings, user_id=user_id, digest=(day, ids[0], ids[-1])),
                    when, "digest", name=name, items=items, day=f"{day:%d-%m-%Y}")
