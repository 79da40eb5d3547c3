"""The written reason an action carries (a return's, a reopening's, a deadline
extension's): one length limit for every caller - pages, API, CLI - since a reason is
stored and shown again in history, inboxes and webhooks."""

from __future__ import annotations

from ..errors import Refused

REASON_MAX = 2000  # characters


def check_length(reason: str | None, **context: object) -> None:
    """`Refused` when ``reason`` is longer than `REASON_MAX` characters."""
    if reason is not None and len(reason) > REASON_MAX:
        raise Refused(f"alasan terlalu panjang ({len(reason):,} huruf); paling banyak "
                      f"{REASON_MAX:,} huruf".replace(",", "."), **context)
