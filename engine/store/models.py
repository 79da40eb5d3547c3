"""The tables. Typed declarative models; the schema itself is owned by Alembic.

Rows hold state only; what a state means lives in the definition a case pins
(``Case.definition_hash`` -> ``DefinitionRow.snapshot``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger, Date, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .types import JSONDocument, RegionCode, UTCDateTime

# Stable constraint names, so migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, but INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Region(Base):
    """A Kemendagri region: provinsi (tier 1), kab/kota (2), kecamatan (3)."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(RegionCode, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[int] = mapped_column(Integer)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    timezone: Mapped[str] = mapped_column(String(40))


class DefinitionRow(Base):
    """A definition exactly as some case was started with it."""

    __tablename__ = "definitions"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(40))
    snapshot: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Case(Base):
    """One level's definition run for one region and one year."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("level", "region_code", "year", name="uq_cases_level_region_year"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    level: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    definition_hash: Mapped[str] = mapped_column(ForeignKey("definitions.content_hash"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    region: Mapped[Region] = relationship()
    tasks: Mapped[list["Task"]] = relationship(back_populates="case", order_by="Task.id")


class Task(Base):
    """One stage of one case. ``version`` is the optimistic lock.

    Region, level, year and definition are copied from the case (they never
    change) so that acting on a task reads one row, and the gate query - "how many
    child regions reached state S in stage X" - is one lookup in ``ix_tasks_gate``,
    whatever the number of children.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("case_id", "stage", name="uq_tasks_case_stage"),
        Index("ix_tasks_gate", "year", "level", "stage", "parent_code", "state"),
        # Not (state, due_at): an action would move its entry on every state change.
        Index("ix_tasks_due", "due_at"),
        # Finding the stage a click names reads one entry; a region's year is a prefix.
        # Unique: a region belongs to one level, so it has one case, hence one such stage.
        Index("ix_tasks_region", "region_code", "year", "stage", unique=True),
        Index("ix_tasks_waits_on", "region_code", "year", "waits_on"),
        Index("ix_tasks_opens_pending", "opens_pending", "opens_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    definition_hash: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(RegionCode)
    parent_code: Mapped[str | None] = mapped_column(RegionCode)
    # "level:stage" of the child stage this stage's gate counts, if any: lets an
    # approval find the parent stages it may open with one indexed lookup.
    waits_on: Mapped[str | None] = mapped_column(String(100))
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # True until the clock has seen the opening day come (see engine/worker/tick.py).
    opens_pending: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship(back_populates="tasks")

    __mapper_args__ = {"version_id_col": version}


class ProgressCount(Base):
    """How many stages of one level and stage, in one area and year, are in one state with
    one deadline: the counters a region's dashboard reads instead of its tasks.

    ``area`` is a provinsi or kab/kota code; a task counts in each such area it lies in,
    in the ``shard`` of its kab/kota (a row of a provinsi is one of up to eight).
    A done stage is keyed by whether it was done late and the week it was done (week 1 is
    the year's first seven days); every other state by ``late`` False and ``week`` 0.
    Kept in the transaction that changes a task (store/counts.py, runtime/counters.py).
    """

    __tablename__ = "progress_counts"
    # SQLite: the key is the table (one b-tree to update per counter, not a table and an index).
    __table_args__ = {"sqlite_with_rowid": False}

    area: Mapped[str] = mapped_column(RegionCode, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(40), primary_key=True)
    stage: Mapped[str] = mapped_column(String(60), primary_key=True)
    state: Mapped[str] = mapped_column(String(40), primary_key=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    late: Mapped[bool] = mapped_column(primary_key=True)
    week: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Which of a provinsi's rows of this key (its kab/kota's, runtime/counters.shard_of):
    # writers of different kab/kota do not queue on one row. Readers sum over it.
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Where reminders, escalations, returns and nudges are e-mailed (engine/mail), and how:
    # "each" (every message), "digest" (one a day) or "none".
    email: Mapped[str | None] = mapped_column(String(254))
    email_pref: Mapped[str] = mapped_column(String(10), default="each", server_default="each")

    assignments: Mapped[list["Assignment"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")


class ApiToken(Base):
    """A secret another system presents as ``Authorization: Bearer ...``; it acts as its
    user. Only the SHA-256 of the secret is kept: the secret is shown once, when issued."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SignInCounter(Base):
    """Refused sign-ins counted in a fixed window, per client address (``a:<address>``)
    and per username at an address (``u:<address>|<username>``); see people/throttle.py.
    A row lives until its window has passed: pruned as sign-ins go on."""

    __tablename__ = "sign_in_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    resets_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class WebSession(Base):
    """A signed-in browser: its cookie carries the secret, this row only its SHA-256.
    Deleting the row ends the session (people/sessions.py)."""

    __tablename__ = "web_sessions"

    secret_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Append-only: who signed in, out or was refused, and what was done to users and
    their tokens (people/audit.py). No foreign key: a refused sign-in names a username
    that may not exist, and the record outlives the user."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_at", "at"), Index("ix_audit_subject_at", "subject", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(160))
    subject: Mapped[str] = mapped_column(String(160))
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)


class Assignment(Base):
    """A user holds ``role`` of ``level`` in ``region_code`` (and sees what lies below it)."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("user_id", "level", "role", "region_code",
                                       name="uq_assignments_user_level_role_region"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    # The unit (Setcam, Puskesmas, Dinas Kesehatan, ...) the role is held for: it says
    # which fields an operator owns and which part a verifikator checks.
    unit: Mapped[str | None] = mapped_column(String(120))

    user: Mapped[User] = relationship(back_populates="assignments")


class FormPart(Base):
    """The form data of one stage that one unit owns, and where that part stands.

    A stage without parts has one row, unit "" (the whole document). A stage split into
    parts has one per unit that has saved, each with its own version: units saving at
    the same moment write different rows and never conflict, two saves of one part race
    on its version. ``state`` is the part's own lifecycle state (None for the whole).
    """

    __tablename__ = "form_parts"
    __table_args__ = (UniqueConstraint("task_id", "unit", name="uq_form_parts_task_unit"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    unit: Mapped[str] = mapped_column(String(120))
    state: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)  # why the part was sent back
    # Review (engine.forms.changes): the data at the last submission, the cells that
    # submission changed, and the return waiting for an answer (None once resubmitted).
    submitted_data: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    sent_back: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)


class FormRollup(Base):
    """One child region's approved data, summed for its parent's document: the rows a
    parent form is pre-filled with. One row per (parent task, child), written by the
    child's approval, so approvals of sibling children never touch the same row."""

    __tablename__ = "form_rollups"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"),
                                         primary_key=True)
    child_code: Mapped[str] = mapped_column(RegionCode, primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Event(Base):
    """Append-only: the audit trail, and the outbox webhooks deliver from."""

    __tablename__ = "events"
    # One index serves a case's history and, by its prefix, a task's: every action
    # appends an event, and each index is one more page its commit writes.
    __table_args__ = (Index("ix_events_case", "case_id", "task_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    region_code: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(40))
    year: Mapped[int | None] = mapped_column(Integer)
    stage: Mapped[str | None] = mapped_column(String(60))
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)


class Notice(Base):
    """A reminder or escalation of one task, fired at most once.

    A task has one pending notice, its next: year start schedules the first, firing one
    schedules the one after (see runtime/notices.py). The unique key (task, kind, rule,
    due_at) is what makes each fire exactly once however many workers tick: a worker
    claims a pending notice with a conditional UPDATE. An extended deadline replaces the
    pending notice with one keyed by the new due time.
    """

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("task_id", "kind", "rule", "due_at", name="uq_notices_task_kind_rule_due"),
        Index("ix_notices_status_fire_at", "status", "fire_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # "reminder" | "escalation"
    rule: Mapped[int] = mapped_column(Integer)  # index in the stage's reminders/escalations
    days: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    fire_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|fired|skipped
    fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class InboxItem(Base):
    """A fired notice, addressed to a role in a region: every holder of it sees it; with
    ``units``, only its holders for one of those units and those who hold it for no unit
    (runtime/reads.py). One item per notice, role and region."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_recipient", "region_code", "role", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str] = mapped_column(String(16))  # its tier says the role's level
    units: Mapped[str | None] = mapped_column(Text)  # "|PLKB|Puskesmas|" (notices.Recipient)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    message: Mapped[str] = mapped_column(Text)


class InboxRead(Base):
    """One user has read one inbox item. An item is shared by every holder of its role,
    so whether it is read is each reader's own (runtime/inbox.py)."""

    __tablename__ = "inbox_reads"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    read_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """One event to one subscription: the outbox row a delivery worker works through."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription", name="uq_webhook_deliveries_event_subscription"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    subscription: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class OutboxCursor(Base):
    """How far in the event table each consumer of the outbox (a webhook subscription,
    the e-mail channel "@email") has queued its deliveries (engine/outbox/cursor.py)."""

    __tablename__ = "outbox_cursors"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigId, default=0)


class EmailDelivery(Base):
    """The e-mail channel's outbox rows (engine/mail): one e-mail to one user.

    ``kind`` "message": one event for a user who wants every message (status pending,
    delivered or dead). "item": one event for a user who wants a daily digest; it is
    "held" until the day's digest takes it ("digested", ``digest_id``). "digest": a
    user's e-mail of one local ``day``, sent like a message.
    """

    __tablename__ = "email_deliveries"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id", name="uq_email_deliveries_user_event"),
        UniqueConstraint("user_id", "day", name="uq_email_deliveries_user_day"),
        Index("ix_email_deliveries_due", "status", "next_attempt_at"),
        Index("ix_email_deliveries_digest_id", "digest_id"),
        # Whether an event is queued already (engine/mail/outbox.py): without it SQLite
        # scanned every row for each event, seconds a batch under the write lock.
        Index("ix_email_deliveries_event_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))  # message | item | digest
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    digest_id: Mapped[int | None] = mapped_column(
        ForeignKey("email_deliveries.id", ondelete="SET NULL"))
    day: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Attachment(Base):
    """A file kept once by its SHA-256 (the blob lives in the files directory, see
    forms/files.py): uploads of the same content by many people share it."""

    __tablename__ = "attachments"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))  # read from the content, never the name
    stored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AttachmentUse(Base):
    """A file uploaded for one stage: what lets its form data name the file, and who may
    download it (those who see the stage's region)."""

    __tablename__ = "attachment_uses"
    __table_args__ = (UniqueConstraint("task_id", "sha256", name="uq_attachment_uses_task_sha256"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(ForeignKey("attachments.sha256"), index=True)
    name: Mapped[str] = mapped_column(String(255))  # the uploader's file name, sanitized
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class RenderedDocument(Base):
    """The rendering of an approved stage's document, kept as an attachment blob: one per
    (stage, form, format, approval), so an approved document never changes and a stage
    approved again (after a reopen) gets a new one."""

    __tablename__ = "rendered_documents"
    __table_args__ = (UniqueConstraint("task_id", "form", "media_type", "done_at",
                                       name="uq_rendered_documents_task_form_type_done"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    form: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(ForeignKey("attachments.sha256"), index=True)
    media_type: Mapped[str] = mapped_column(String(100))
    rendered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
