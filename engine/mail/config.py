"""SMTP settings and the application's address, from the environment.

    AKSI_SMTP_HOST       the SMTP server; unset: no e-mail is sent (the channel is off)
    AKSI_SMTP_PORT       default 587 with starttls, 465 with ssl, 25 without
    AKSI_SMTP_SECURITY   starttls (default), ssl, or none (a relay on loopback)
    AKSI_SMTP_USER       sign in with these when given
    AKSI_SMTP_PASSWORD
    AKSI_SMTP_FROM       the sender, e.g. "Aksi Konvergensi <aksi@kab.example.go.id>" (required)
    AKSI_SMTP_TIMEOUT    seconds per message (default 30)
    AKSI_BASE_URL        where the web app is reached, e.g. https://aksi.example.go.id
                         (required: every e-mail links to its stage page)
    AKSI_DIGEST_HOUR     local hour from which the daily digest goes (default 7)

The password is never printed: not by ``repr``, not in an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Mapping
from urllib.parse import urlsplit

SECURITY = ("starttls", "ssl", "none")
_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class MailConfigError(ValueError):
    """The SMTP settings in the environment are incomplete or invalid; the message names
    the variable."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    base_url: str
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    digest_hour: int = 7

    @property
    def domain(self) -> str:
        """The right-hand side of Message-IDs: the sender's domain."""
        return parseaddr(self.sender)[1].rpartition("@")[2] or "aksi.invalid"

    def stage_url(self, year: int, region: str, stage: str) -> str:
        return f"{self.base_url}/tugas/{year}/{region}/{stage}"

    def settings_url(self) -> str:
        return f"{self.base_url}/pengaturan/surel"


def _number(env: Mapping[str, str], name: str, default: float, kind=int):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise MailConfigError(f"{name}={raw!r} bukan angka") from None
    if value <= 0 and name != "AKSI_DIGEST_HOUR":
        raise MailConfigError(f"{name} harus lebih dari 0")
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
    """The settings in ``environ`` (default ``os.environ``); None when AKSI_SMTP_HOST is
    unset. `MailConfigError` when they are incomplete or invalid."""
    env = os.environ if environ is None else environ
    host = env.get("AKSI_SMTP_HOST", "").strip()
    if not host:
        return None
    security = env.get("AKSI_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
    if security not in SECURITY:
        raise MailConfigError(f"AKSI_SMTP_SECURITY={security!r}: pilih salah satu dari "
                              f"{', '.join(SECURITY)}")
    sender = env.get("AKSI_SMTP_FROM", "").strip()
    if "@" not in parseaddr(sender)[1]:
        raise MailConfigError("AKSI_SMTP_FROM harus berisi alamat surel pengirim "
                              "(mis. 'Aksi <aksi@kab.example.go.id>')")
    base = env.get("AKSI_BASE_URL", "").strip().rstrip("/")
    if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).netloc:
        raise MailConfigError("AKSI_BASE_URL harus alamat web aplikasi (mis. "
                              "https://aksi.example.go.id): setiap surel menautkan tahapnya")
    hour = _number(env, "AKSI_DIGEST_HOUR", 7)
    if not 0 <= hour <= 23:
        raise MailConfigError("AKSI_DIGEST_HOUR harus antara 0 dan 23")
    return SmtpSettings(
        host=host, port=_number(env, "AKSI_SMTP_PORT", _PORTS[security]), sender=sender,
        base_url=base, security=security, user=env.get("AKSI_SMTP_USER") or None,
        password=env.get("AKSI_SMTP_PASSWORD") or None,
        timeout=_number(env, "AKSI_SMTP_TIMEOUT", 30.0, float), digest_hour=hour)
