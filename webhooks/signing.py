"""Signing requests, and checking signatures on the receiving side.

The signature is HMAC-SHA256, keyed with the subscription's secret, over the
bytes ``f"{timestamp}.".encode() + body``, sent as ``X-Aksi-Signature:
sha256=<hex>`` next to ``X-Aksi-Timestamp: <unix seconds>``. Signing the
timestamp with the body lets a receiver refuse replays of old requests.

A receiver (any language) does::

    expected = hmac_sha256(secret, timestamp + "." + raw_body).hex()
    accept iff constant_time_equal("sha256=" + expected, header)
               and abs(now - timestamp) <= 5 minutes

In Python: ``verify_signature(secret, request.headers["X-Aksi-Timestamp"],
request.get_data(), request.headers["X-Aksi-Signature"])``.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from .errors import BadSignature, MalformedSignature, StaleTimestamp

SCHEME = "sha256"
DEFAULT_TOLERANCE = 300  # seconds


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def signature(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The header value ``sha256=<hex>`` for ``body`` sent at ``timestamp``."""
    mac = hmac.new(_bytes(secret), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify_signature(secret: str | bytes, timestamp: int | str | bytes, body: str | bytes,
                     header: str | bytes | None, tolerance: float = DEFAULT_TOLERANCE, *,
                     now: float | None = None) -> None:
    """Check a received request; return None when it is genuine, raise otherwise.

    ``timestamp`` and ``header`` are the ``X-Aksi-Timestamp`` and ``X-Aksi-Signature``
    header values, ``body`` the raw request body (before any JSON parsing).
    Raises `MalformedSignature`, `StaleTimestamp` (more than ``tolerance`` seconds
    from ``now``, default the current time) or `BadSignature`; all are
    `SignatureError`. The comparison takes constant time.
    """
    if isinstance(timestamp, bytes):
        timestamp = timestamp.decode("ascii", "replace")
    text = str(timestamp).strip()
    if not text.isascii() or not text.isdigit():
        raise MalformedSignature(f"timestamp {timestamp!r} is not unix seconds")
    if header is None:
        raise MalformedSignature("no signature header")
    if isinstance(header, bytes):
        header = header.decode("ascii", "replace")
    scheme, sep, digest = header.strip().partition("=")
    if scheme != SCHEME or not sep or len(digest) != 64:
        raise MalformedSignature(f"signature header is not '{SCHEME}=<64 hex digits>'")
    current = time.time() if now is None else now
    if abs(current - int(text)) > tolerance:
        raise StaleTimestamp(f"timestamp {text} is {abs(current - int(text)):.0f} s from now "
                             f"(tolerance {tolerance} s)")
    expected = signature(secret, text, _bytes(body))
    if not hmac.compare_digest(expected.encode("ascii"), f"{SCHEME}={digest}".encode("ascii",
                                                                                     "replace")):
        raise BadSignature("signature does not match the body")
