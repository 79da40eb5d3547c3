"""Slowing down password guessing without locking the real person out.

Refused sign-ins are counted per client address and per username *at an address*, each
in a fixed window (15 minutes by default) that starts with the key's first attempt. A
username is never locked as such: ten wrong passwords for ``approver-19.01.01`` from
somewhere else leave its owner, at their own address, free to sign in. The address limit
(100 by default; an office behind one NAT address is many people) bounds how many
passwords one address may have checked, across usernames. IPv6 addresses count per /64:
one host usually holds a whole /64.

The decision is taken before any password is hashed (a check costs ~160 ms of CPU, the
thing a guesser would otherwise spend for us), and it cannot race:

- Every attempt first *reserves* a slot in both counters, one atomic statement each:
  ``INSERT ... ON CONFLICT (key) DO UPDATE SET failures = failures + 1 (or 1 with a new
  window, when the old one has passed) WHERE failures < limit (or the window passed)
  RETURNING failures``. On PostgreSQL the conflicting row is locked by the statement
  itself, so concurrent attempts on one key queue on that row and each sees the count
  its predecessor committed; no read-then-write gap remains. A statement that returns no
  row means the limit is reached: the attempt is refused and its transaction rolled
  back, which also gives back the slot the other counter granted (all keys or none).
  SQLite runs every transaction ``BEGIN IMMEDIATE`` (store/database.py): writers queue
  on the database lock, so the same statements are serial there.
- The reservation commits before the hash is checked (no transaction stays open for
  160 ms, which on SQLite would hold every writer up). A right password then gives its
  slots back (``failures - 1``, address first, then username: the reservation's order,
  so the two cannot deadlock); a wrong one keeps them. So at most ``limit`` passwords
  are ever checked per key and window, however many processes race.

The counters live in the database (``sign_in_counters``), so every web process shares
them, on SQLite (no Redis needed) and PostgreSQL alike. Flask-Limiter was considered: its
storages are memory (one process only), Redis, Memcached or MongoDB, none of them a store
this project already runs, and it counts requests, not refused passwords. Rows are
pruned by the sign-ins themselves (`prune`, people/expiry.py): a key lives for one window,
and a guesser inventing usernames adds at most ``per_address`` rows per address and
window before the address key refuses them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from dataclasses import dataclass

from sqlalchemy import case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..errors import Refused
from ..store.models import SignInCounter
from .expiry import delete_expired

USERNAME_KEPT = 150  # characters of a username in a key (the users table keeps 80)


@dataclass(frozen=True)
class Limits:
    """How many refused sign-ins a window allows, per username at an address and per
    address."""

    per_account: int = 10
    per_address: int = 100
    window: dt.timedelta = dt.timedelta(minutes=15)


def address_of(remote: str | None) -> str:
    """The part of a client address a limit counts: the address itself; an IPv6 one's /64
    (an IPv4 address mapped into IPv6 as itself)."""
    try:
        ip = ipaddress.ip_address(remote or "")
    except ValueError:
        return (remote or "tidak-diketahui")[:40]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _keys(username: str, address: str, limits: Limits) -> list[tuple[str, int, str]]:
    """(key, limit, refusal) in the order they are reserved (and given back)."""
    where = address_of(address)
    return [
        (f"a:{where}", limits.per_address,
         "terlalu banyak percobaan masuk yang gagal dari alamat jaringan Anda"),
        (f"u:{where}|{username[:USERNAME_KEPT]}", limits.per_account,
         f"terlalu banyak percobaan masuk yang gagal untuk '{username[:USERNAME_KEPT]}'"),
    ]


def _reserve_one(session: Session, key: str, limit: int, window: dt.timedelta,
                 now: dt.datetime) -> bool:
    table = SignInCounter.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(key=key, failures=1, resets_at=now + window)
    passed = table.c.resets_at <= now
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"failures": case((passed, 1), else_=table.c.failures + 1),
              "resets_at": case((passed, statement.excluded.resets_at),
                                else_=table.c.resets_at)},
        where=or_(passed, table.c.failures < limit),
    ).returning(table.c.failures)
    return session.execute(statement).first() is not None


def reserve(session: Session, username: str, address: str, limits: Limits,
            now: dt.datetime) -> list[str]:
    """Count an attempt against every key of (``username``, ``address``); the keys.
    `Refused` (``retry_after`` in seconds) when one is at its limit: the caller's
    transaction must then be rolled back (raising it out of ``Database.session`` does),
    which gives back the slots already taken."""
    reserved = []
    for key, limit, refusal in _keys(username, address, limits):
        if not _reserve_one(session, key, limit, limits.window, now):
            resets_at = session.scalar(select(SignInCounter.resets_at)
                                       .where(SignInCounter.key == key))
            wait = max(1, math.ceil((resets_at - now).total_seconds()))
            raise Refused(f"{refusal}; coba lagi dalam {math.ceil(wait / 60)} menit",
                          retry_after=wait)
        reserved.append(key)
    return reserved


def release(session: Session, keys: list[str], now: dt.datetime) -> None:
    """Give back the slots of an attempt that was not a refusal, in reservation order."""
    for key in keys:
        session.execute(update(SignInCounter)
                        .where(SignInCounter.key == key, SignInCounter.failures > 0,
                               SignInCounter.resets_at > now)
                        .values(failures=SignInCounter.failures - 1))


def prune(session: Session, now: dt.datetime) -> int:
    """Remove (a batch of) the counters whose window has passed; how many."""
    return delete_expired(session, SignInCounter.key, SignInCounter.resets_at <= now)
