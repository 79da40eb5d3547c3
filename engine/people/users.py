"""Users and their role assignments, and signing in. Passwords are stored as salted hashes
only."""

from __future__ import annotations

import functools
import re
import datetime as dt
from dataclasses import dataclass
from email.headerregistry import Address

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from ..definitions import DefinitionSet
from ..regions import tier_of
from ..clock import utcnow
from ..errors import NotFound, Refused
from ..store.database import Database
from ..store.models import Assignment, Region, User
from ..store.prepared import Prepared
from . import audit
from .sessions import SessionPolicy, end_sessions, open_session, prune_sessions
from .throttle import Limits, prune, release, reserve


# What a new username may be: the column holds 80 characters, and a name is typed and
# read in CLI commands, CSV files and URLs.
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,79}")
# How a user wants e-mail (engine/mail): every message, a daily digest, or none.
EMAIL_PREFERENCES = {"each": "setiap pesan", "digest": "ringkasan harian", "none": "tidak ada"}


def email_problem(address: str) -> str | None:
    """Why ``address`` is not one plain e-mail address (None: it is)."""
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError, TypeError):
        parsed = None
    if (not address or len(address) > 254 or parsed is None or not parsed.username
            or "." not in parsed.domain or any(c.isspace() or c in '<>,;"' for c in address)):
        return f"alamat surel '{address[:254]}' tidak sah (contoh: nama@dinkes.example.go.id)"
    return None


def set_email(session: Session, username: str, *, email: str | None = None,
              clear: bool = False, pref: str | None = None, now: dt.datetime | None = None,
              actor: str | None = None) -> User:
    """Set ``username``'s e-mail address (``clear``: remove it) and/or preference
    (`EMAIL_PREFERENCES`); `Refused` for an invalid one, and nothing is changed. Audited."""
    user = get_user(session, username)
    if email is not None and (why := email_problem(email)):
        raise Refused(why, username=username)
    if pref is not None and pref not in EMAIL_PREFERENCES:
        raise Refused(f"pilihan surel '{pref[:20]}' tidak dikenal; pilih salah satu: "
                      f"{', '.join(EMAIL_PREFERENCES)}", username=username)
    detail = {}
    if clear or email is not None:
        user.email = None if clear else email
        detail["email"] = user.email
    if pref is not None:
        user.email_pref = pref
        detail["email_pref"] = pref
    if detail:
        audit.record(session, "email_set", actor=actor or audit.operator(), subject=username,
                     at=now or utcnow(), detail=detail)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).options(joinedload(User.assignments))
                           .where(User.username == username)).unique().one_or_none()
    if user is None:
        raise NotFound(f"pengguna '{username}' tidak ada; tambahkan dengan `aksi users add`",
                       username=username)
    return user


def _check_role(definitions: DefinitionSet, session: Session, role: str, region: str) -> str:
    """The level a role on a region belongs to; `Refused` when it does not fit."""
    if session.get(Region, region) is None:
        raise NotFound(f"wilayah '{region}' tidak ada; muat dengan `aksi regions load`",
                       region=region)
    definition = definitions.by_tier(tier_of(region))
    if definition is None:
        raise Refused(f"tidak ada definisi alur kerja untuk wilayah tingkat {tier_of(region)} "
                      f"('{region}')", region=region)
    if role not in definition.roles:
        raise Refused(f"peran '{role}' tidak ada di tingkat {definition.level}; pilih salah satu: "
                      f"{', '.join(definition.roles)}", role=role, level=definition.level)
    return definition.level


def check_grant(session: Session, definitions: DefinitionSet, role: str | None,
                region: str | None, unit: str | None) -> str:
    """The level a role on a region (for ``unit``) belongs to; `Refused` or `NotFound`
    when it does not fit."""
    if not (role and region):
        raise Refused("peran dan wilayah harus diberikan bersama", role=role, region=region)
    level = _check_role(definitions, session, role, region)
    units = definitions[level].roles[role].units
    if unit and unit not in units:
        raise Refused(f"unit '{unit}' tidak ada pada peran '{role}' tingkat {level}; pilih "
                      f"salah satu: {', '.join(units) or '(peran ini tanpa unit)'}",
                      unit=unit, role=role, level=level)
    return level


def add_user(session: Session, definitions: DefinitionSet, username: str, *,
             role: str | None = None, region: str | None = None, unit: str | None = None,
             password: str | None = None, display_name: str = "",
             now: dt.datetime | None = None, actor: str | None = None,
             password_hash: str | None = None) -> User:
    """Create ``username`` (or reuse it) and give it ``role`` on ``region`` (for ``unit``,
    one of the role's units, when given). Idempotent; a new unit replaces the old one.
    ``password_hash`` instead of ``password``: a hash made once for many accounts (the
    hundreds of ``aksi demo`` accounts share one, hashing each would take minutes).
    Audited (people/audit.py) as done by ``actor``, by default the command line's
    operator: the user created, the password set, the role granted (or its unit changed)."""
    now = now or utcnow()
    by = actor or audit.operator()
    if len(display_name) > 200:
        raise Refused("nama tampilan paling panjang 200 huruf", username=username[:80])
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        if not USERNAME.fullmatch(username):
            raise Refused(f"nama pengguna '{username[:80]}' hanya boleh huruf, angka, titik, "
                          "garis bawah, @ dan tanda hubung, paling panjang 80",
                          username=username[:80])
        user = User(username=username, display_name=display_name or username, active=True,
                    created_at=now)
        session.add(user)
        audit.record(session, "user_created", actor=by, subject=username, at=now)
    if password is not None or password_hash is not None:
        user.password_hash = password_hash or _hash(password)
        ended = end_sessions(session, user.id) if user.id is not None else 0
        # a password set ends the sessions signed in before
        audit.record(session, "password_set", actor=by, subject=username, at=now,
                     detail={"sessions_ended": ended} if ended else None)
    if display_name:
        user.display_name = display_name
    if role or region:
        _grant(session, definitions, user, role, region, unit, by, now)
    session.flush()
    return user


def _grant(session: Session, definitions: DefinitionSet, user: User, role: str | None,
           region: str | None, unit: str | None, by: str, now: dt.datetime) -> None:
    """Give ``user`` ``role`` on ``region`` (for ``unit``); audited when it is new or its
    unit changed."""
    level = check_grant(session, definitions, role, region, unit)
    held = next((a for a in user.assignments if a.level == level and a.role == role
                 and a.region_code == region), None)
    detail = {"level": level, "role": role, "region": region, "unit": unit or None}
    if held is None:
        user.assignments.append(Assignment(level=level, role=role, region_code=region,
                                           unit=unit or None))
    elif unit and held.unit != unit:
        detail["previous_unit"] = held.unit
        held.unit = unit
    else:
        return
    audit.record(session, "role_granted", actor=by, subject=user.username, at=now,
                 detail=detail)


# Werkzeug (its hashing, and the HTTP modules it loads with it) is imported when a
# password is hashed or checked, not by every command that touches users. The tests count
# checks by replacing `check_password_hash` here.
def _hash(password: str) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)


def check_password_hash(stored: str, password: str) -> bool:
    from werkzeug.security import check_password_hash as check

    return check(stored, password)


# Checked against when there is no user or no password: a refusal takes as long either
# way, so the time of an answer does not tell which usernames exist.
# Made on first use: hashing takes a fifth of a second, which every command would pay.
@functools.cache
def _nobody() -> str:
    return _hash("tidak ada pengguna ini")


def _verified(found, password: str) -> tuple[bool, bool]:
    """(known: an active user with a password, matches) for ``found`` (a user row or None):
    the hash is checked either way (`_nobody`), so both take as long."""
    known = found is not None and found.active and bool(found.password_hash)
    return known, check_password_hash(found.password_hash if known else _nobody(), password)


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    known, matches = _verified(user, password)
    return user if known and matches else None


@dataclass(frozen=True)
class Grant:
    level: str
    role: str
    region_code: str
    unit: str | None = None


@dataclass(frozen=True)
class Actor:
    """A user as the engine checks them on every action: read in one query, never written."""

    username: str
    active: bool
    assignments: tuple[Grant, ...]


_ACTOR = Prepared(select(User.active, Assignment.level, Assignment.role, Assignment.region_code,
                         Assignment.unit)
                  .outerjoin(Assignment, Assignment.user_id == User.id)
                  .where(User.username == bindparam("username")))


def actor(session: Session, username: str) -> Actor:
    rows = _ACTOR.rows(session, username=username)
    if not rows:
        raise NotFound(f"pengguna '{username}' tidak ada; tambahkan dengan `aksi users add`",
                       username=username)
    grants = tuple(Grant(lv, r, c, u) for _, lv, r, c, u in rows if r is not None)
    return Actor(username, rows[0][0], grants)


def set_active(session: Session, username: str, active: bool, *,
               now: dt.datetime | None = None, actor: str | None = None) -> User:
    """Activate or deactivate ``username``; deactivating ends their web sessions at once
    (their API tokens identify nobody while they are inactive: people/tokens.py).
    A change is audited as done by ``actor`` (default: the command line's operator);
    setting the state the user already has records nothing."""
    user = get_user(session, username)
    changed = user.active != active
    user.active = active
    ended = 0 if active else end_sessions(session, user.id)
    if changed:
        audit.record(session, "user_activated" if active else "user_deactivated",
                     actor=actor or audit.operator(), subject=username, at=now or utcnow(),
                     detail={"sessions_ended": ended} if ended else None)
    session.flush()
    return user


# Refused sign-ins of one username from one address within the window (the default).
MAX_FAILURES = Limits().per_account


def sign_in(db: Database, username: str, password: str, *, address: str,
            limits: Limits = Limits(), policy: SessionPolicy = SessionPolicy(),
            now: dt.datetime | None = None) -> str | None:
    """A new web session's secret when ``password`` is ``username``'s (an active user),
    else None; `Refused` (``retry_after`` seconds) when ``address`` or ``username`` at
    ``address`` had too many refusals lately, decided before any hashing.

    Takes the `Database`, not a session: its transactions are its own. The attempt is
    counted and committed first (people/throttle.py), the hash is checked outside any
    transaction (SQLite's write lock is not held for its 160 ms), then a right password
    gets its count back and a session, and old counters and sessions are pruned.

    The outcome is audited (people/audit.py) in that second transaction: a sign-in as the
    user, a refusal (why: no such user, inactive, no password, wrong password) as
    ``anonymous``. A throttled refusal's own transaction is rolled back, so it is
    recorded in one of its own before `Refused` goes on to the caller."""
    now = now or utcnow()
    try:
        with db.session() as session:
            keys = reserve(session, username, address, limits, now)
            found = session.execute(select(User.id, User.password_hash, User.active).where(
                User.username == username)).one_or_none()
    except Refused as exc:
        with db.session() as session:
            # Once per username and address per window: a guesser held at the limit
            # must not grow the audit table by a row per request.
            if not audit.recorded_since(session, "sign_in_throttled", subject=username,
                                        address=address, since=now - limits.window):
                audit.record(session, "sign_in_throttled", actor=audit.ANONYMOUS,
                             subject=username, address=address, at=now,
                             detail={"retry_after": exc.context.get("retry_after")})
        raise
    known, matches = _verified(found, password)
    with db.session() as session:
        secret = None
        if known and matches:
            release(session, keys, now)
            secret = open_session(session, found.id, now)
            prune_sessions(session, policy, now)
            audit.record(session, "sign_in", actor=username, subject=username,
                         address=address, at=now)
        else:
            audit.record(session, "sign_in_refused", actor=audit.ANONYMOUS, subject=username,
                         address=address, at=now, detail={"reason": _refusal(found, matches)})
        prune(session, now)
    return secret


def _refusal(found, matches: bool) -> str:
    """Why a sign-in was refused, for the audit (never shown to the person signing in)."""
    if found is None:
        return "no_such_user"
    if not found.active:
        return "inactive"
    return "wrong_password" if found.password_hash and not matches else "no_password"
