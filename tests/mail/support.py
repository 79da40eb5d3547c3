"""Helpers of the e-mail tests; importable by the spawned worker process too."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import socket
import threading
from dataclasses import dataclass
from email.message import Message

from aiosmtpd.controller import Controller

UTC = dt.timezone.utc
YEAR = 2026
BEFORE_YEAR = dt.datetime(2025, 12, 1, tzinfo=UTC)
KEC = "19.01.01"
# analisis_situasi is due 15 January: its 7-day reminder fires 8 January 08:00 WIB.
REMINDER_AT = dt.datetime(2026, 1, 8, 1, 0, tzinfo=UTC)
BASE_URL = "https://aksi.example.go.id"
SENDER = "Aksi Konvergensi <aksi@kab.example.go.id>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(port: int) -> dict[str, str]:
    return {"AKSI_SMTP_HOST": "127.0.0.1", "AKSI_SMTP_PORT": str(port),
            "AKSI_SMTP_SECURITY": "none", "AKSI_SMTP_FROM": SENDER, "AKSI_BASE_URL": BASE_URL,
            "AKSI_SMTP_TIMEOUT": "10"}


def settings_for(port: int):
    from engine.mail import load_settings

    return load_settings(environment(port))


@dataclass
class Received:
    rcpt: list[str]
    message: Message

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]


class SmtpRecorder:
    """aiosmtpd on loopback. ``hold_at``: the n-th message is recorded, then its answer
    is held until ``release`` is set (a worker waits for it meanwhile)."""

    def __init__(self, hold_at: int | None = None):
        self.port = free_port()
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.hold_at = hold_at
        self.holding = threading.Event()
        self.release = threading.Event()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.release.set()
        self.controller.stop()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append(Received(list(envelope.rcpt_tos),
                                          email.message_from_bytes(envelope.content)))
            n = len(self.received)
        if n == self.hold_at:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        return "250 OK"

    def ids(self) -> list[str]:
        with self.lock:
            return [r.message_id for r in self.received]


def start_province(db, defs) -> None:
    """Province 19 (no desa), the kecamatan year started before it begins."""
    from engine.regions import load_regions
    from engine.runtime import start_year

    with db.session() as s:
        load_regions(s, "19", with_desa=False)
        start_year(s, defs, YEAR, province="19", levels=["kecamatan", "kabkota"],
                   now=BEFORE_YEAR)


def add_people(db, defs, people) -> None:
    """``people``: (username, role, region, address or None, preference or None)."""
    from engine.people import add_user, set_email

    with db.session() as s:
        for username, role, region, address, pref in people:
            add_user(s, defs, username, role=role, region=region, actor="test")
            if address or pref:
                set_email(s, username, email=address, pref=pref, actor="test")


def addressed_events(db, role: str, region: str, kinds=("reminder", "escalation", "nudge")):
    """Ids of the events whose payload names (role, region) among its recipients: what
    that role's holders must be told, derived from the events alone."""
    from sqlalchemy import select

    from engine.store.models import Event

    with db.session() as s:
        rows = s.execute(select(Event.id, Event.payload).where(Event.kind.in_(kinds))).all()
    return sorted(i for i, p in rows if {"role": role, "region": region} in p["recipients"])


def user_id(db, username: str) -> int:
    from sqlalchemy import select

    from engine.store.models import User

    with db.session() as s:
        return s.scalar(select(User.id).where(User.username == username))


def work_the_year(url: str, environ: dict[str, str], moments: list[str], barrier,
                  results) -> None:
    """A worker process: the jobs ``aksi worker`` runs (engine/cli/clock.py `worker_jobs`:
    the tick, webhooks, e-mail), all of them at each of ``moments`` in turn, on threads
    as APScheduler's pool runs them, with the clock travelled to that moment. The
    workers meet at ``barrier`` before each moment, as if their clocks moved on
    together. Puts ("ok", moments worked) - or ("error", traceback) - on ``results``."""
    import os
    import traceback
    from concurrent.futures import ThreadPoolExecutor

    import time_machine

    os.environ.update(environ)
    try:
        from engine.cli.clock import worker_jobs
        from engine.store import Database

        db = Database(url)
        jobs = worker_jobs(db)
        assert [name for name, _ in jobs] == ["tick", "webhooks", "email"], jobs
        with ThreadPoolExecutor(len(jobs)) as pool:
            for iso in moments:
                barrier.wait(timeout=300)
                with time_machine.travel(dt.datetime.fromisoformat(iso), tick=False):
                    for done in [pool.submit(job) for _, job in jobs]:
                        done.result()
        db.dispose()
        results.put(("ok", len(moments)))
    except BaseException:  # noqa: BLE001 - reported to the test, which fails
        barrier.abort()
        results.put(("error", traceback.format_exc()))
