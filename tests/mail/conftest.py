"""Fixtures of the e-mail tests: a real SMTP server on loopback (aiosmtpd), a province
with a started year and users with addresses. The database fixtures (every backend) are
in tests/conftest.py; the definitions come from the runtime tests."""

from __future__ import annotations

import pytest

from runtime.conftest import defs  # noqa: F401

from .support import SmtpRecorder, settings_for


@pytest.fixture
def smtp():
    """An SMTP server on 127.0.0.1 that keeps every message it accepts."""
    recorder = SmtpRecorder()
    recorder.start()
    yield recorder
    recorder.stop()


@pytest.fixture
def settings(smtp):
    return settings_for(smtp.port)


@pytest.fixture(autouse=True)
def _no_ambient_smtp(monkeypatch):
    for name in ("AKSI_SMTP_HOST", "AKSI_SMTP_PASSWORD", "AKSI_SMTP_USER", "AKSI_BASE_URL",
                 "AKSI_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _fresh_notes():
    """Each test starts with no remembered PostgreSQL snapshots (engine/outbox/cursor.py)."""
    from engine.outbox import forget_notes

    forget_notes()
