"""Plain helpers for the runtime tests (importable by spawned worker processes too)."""

from __future__ import annotations

import datetime as dt
import random
import shutil
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.definitions.variants import lifecycle_only  # noqa: F401 - re-exported

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / "workflows"
FORMS = REPO / "forms"
TOY = REPO / "tests" / "fixtures" / "toy"

UTC = dt.timezone.utc
YEAR = 2026
# Fixed clock: 5 January 2026, 10:00 WIB. Every stage opening on 1 January has come,
# kecamatan analisis_situasi (due 15 January) is not yet due, pra_musrenbang (opens
# 1 February) has not opened.
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)

KABUPATEN_BANGKA = "19.01"
BANGKA_KECAMATAN = tuple(f"19.01.{i:02d}" for i in range(1, 9))

# The juknis kecamatan lifecycle, walked by the tests (the engine knows none of this).
WALK = (("submit", "operator"), ("verify", "verifikator"), ("approve", "approver"))
NEXT = {"ready": ("submit", "operator"), "returned": ("submit", "operator"),
        "reopened": ("submit", "operator"), "submitted": ("verify", "verifikator"),
        "verified": ("approve", "approver")}


def user(role: str, region: str) -> str:
    """The username the tests give the holder of ``role`` on ``region``."""
    return f"{role}@{region}"


def copy_definitions(workflows: Path, root: Path) -> Path:
    """Copy a definitions directory and its ``../forms`` under ``root``; return the copy's workflows."""
    shutil.copytree(workflows, root / "workflows")
    shutil.copytree(workflows.parent / "forms", root / "forms")
    return root / "workflows"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def task_events(session: Session, task_id: int):
    from engine.store.models import Event

    return list(session.scalars(select(Event).where(Event.task_id == task_id).order_by(Event.id)))


def event_count(session: Session) -> int:
    from engine.store.models import Event

    return session.scalar(select(func.count()).select_from(Event))


def walk_to_done(session: Session, region: str, stage: str, *, now: dt.datetime = NOW,
                 year: int = YEAR):
    """submit, verify, approve ``stage`` of ``region`` with the standard users."""
    from engine.runtime import act_on

    result = None
    for trigger, role in WALK:
        result = act_on(session, region, stage, year, trigger, user(role, region), now=now)
    return result


def race_worker(url: str, codes: list[str], stage: str, year: int, now_iso: str, seed: int,
                barrier, results) -> None:
    """Walk every task in ``codes`` to approved, racing other processes doing the same.

    Refusals and conflicts are expected (another process got there first): count them
    and move on. Puts a Counter of outcomes on ``results``.
    """
    from engine.errors import Conflict, Refused
    from engine.runtime import act, find_task
    from engine.store import Database

    now = dt.datetime.fromisoformat(now_iso)
    rng = random.Random(seed)
    db = Database(url)
    counts: Counter = Counter()
    pending = list(codes)
    try:
        barrier.wait(timeout=60)
        deadline = time.monotonic() + 120
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"tasks never approved: {pending}")
            for code in list(pending):
                try:
                    with db.session() as session:
                        task = find_task(session, code, stage, year)
                        if task.state == "approved":
                            pending.remove(code)
                            continue
                        trigger, role = NEXT[task.state]
                        act(session, task=task, trigger=trigger, username=user(role, code),
                            expected_version=task.version, now=now)
                    counts[trigger] += 1
                except (Conflict, Refused) as exc:
                    counts[type(exc).__name__] += 1
            rng.shuffle(pending)
        results.put(("ok", dict(counts)))
    except BaseException as exc:  # report, never hang the parent
        results.put(("error", repr(exc)))
    finally:
        db.dispose()


def add_standard_users(session: Session, definitions) -> None:
    """operator/verifikator/approver of every Kabupaten Bangka kecamatan, plus a few above."""
    from engine.people import add_user

    for code in BANGKA_KECAMATAN:
        for role in ("operator", "verifikator", "approver"):
            add_user(session, definitions, user(role, code), role=role, region=code, now=NOW)
    for role in ("supervisor", "operator", "approver"):
        add_user(session, definitions, user(role, KABUPATEN_BANGKA), role=role,
                 region=KABUPATEN_BANGKA, now=NOW)
    add_user(session, definitions, user("supervisor", "19.02"), role="supervisor", region="19.02",
             now=NOW)
    add_user(session, definitions, user("operator", "19"), role="operator", region="19", now=NOW)
    add_user(session, definitions, user("operator", "19.02.01"), role="operator",
             region="19.02.01", now=NOW)


def race_tasks(url: str, pairs: list[tuple[str, str]], year: int, now_iso: str, seed: int,
               barrier, results) -> None:
    """Walk every (region, stage) of ``pairs`` to approved, racing other processes doing
    the same; every attempt is its own transaction with the version it read. Puts
    ("ok", Counter of outcomes) - or ("error", text) - on ``results``."""
    from engine.errors import Conflict, Refused
    from engine.runtime import act, find_task
    from engine.store import Database

    now = dt.datetime.fromisoformat(now_iso)
    rng = random.Random(seed)
    db = Database(url)
    counts: Counter = Counter()
    pending = list(pairs)
    rng.shuffle(pending)
    try:
        barrier.wait(timeout=120)
        deadline = time.monotonic() + 900
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(pending)} tasks never approved, e.g. {pending[0]}")
            for code, stage in list(pending):
                try:
                    with db.session() as session:
                        task = find_task(session, code, stage, year)
                        if task.state == "approved":
                            pending.remove((code, stage))
                            continue
                        trigger, role = NEXT[task.state]
                        act(session, task=task, trigger=trigger, username=user(role, code),
                            expected_version=task.version, now=now)
                    counts[trigger] += 1
                except (Conflict, Refused) as exc:
                    counts[type(exc).__name__] += 1
            rng.shuffle(pending)
        results.put(("ok", dict(counts)))
    except BaseException as exc:  # report, never hang the parent
        results.put(("error", repr(exc)))
    finally:
        db.dispose()
