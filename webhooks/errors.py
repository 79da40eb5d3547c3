"""What can go wrong with webhooks (the tree is drawn in the package docstring).

Delivery failures are not exceptions: a failed POST is recorded on its delivery
row (``last_error``, ``attempts``, ``next_attempt_at``) and retried; only the
configuration and, on the receiving side, signature checks raise.
"""

from __future__ import annotations

from pathlib import Path


class WebhookError(Exception):
    """Base class of every exception the webhooks package raises."""


class ConfigError(WebhookError):
    """The subscriptions file cannot be read or is invalid.

    ``path`` and ``line`` (1-based, when known) say where; the message already
    starts with them, as ``file:line: reason``.
    """

    def __init__(self, reason: str, *, path: Path | str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line else f"{path}: "
        super().__init__(where + reason)
        self.reason = reason
        self.path = Path(path) if path is not None else None
        self.line = line


class SignatureError(WebhookError):
    """A received request does not carry a valid signature: reject it."""


class MalformedSignature(SignatureError):
    """The signature header or the timestamp is not in the expected form."""


class StaleTimestamp(SignatureError):
    """The timestamp is too far from the receiver's clock (a replay, or a skewed clock)."""


class BadSignature(SignatureError):
    """The HMAC does not match: the body was altered, or the secret differs."""
