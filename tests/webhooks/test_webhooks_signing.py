"""Signatures: what a receiver checks (HMAC-SHA256 over timestamp + body, constant time)."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from webhooks import (
    BadSignature, MalformedSignature, SignatureError, StaleTimestamp, signature, verify_signature,
)

SECRET = "rahasia"
BODY = b'{"id":7,"kind":"approve"}'


def independent_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The documented recipe, written out without the package."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def test_signature_follows_the_documented_recipe():
    ts = 1767582000
    assert signature(SECRET, ts, BODY) == independent_signature(SECRET, ts, BODY)


def test_a_genuine_request_verifies():
    ts = int(time.time())
    header = independent_signature(SECRET, ts, BODY)
    assert verify_signature(SECRET, str(ts), BODY, header) is None
    assert verify_signature(SECRET.encode(), str(ts).encode(), BODY.decode(),
                            header.encode()) is None


@pytest.mark.parametrize("body", [
    b'{"id":7,"kind":"reject"}',  # altered
    BODY + b" ",  # one byte more
    b"",
])
def test_a_tampered_body_is_refused(body):
    ts = int(time.time())
    with pytest.raises(BadSignature):
        verify_signature(SECRET, ts, body, independent_signature(SECRET, ts, BODY))


def test_another_secret_or_another_timestamp_is_refused():
    ts = int(time.time())
    with pytest.raises(BadSignature):
        verify_signature("lain", ts, BODY, independent_signature(SECRET, ts, BODY))
    # The timestamp is signed too: moving it (within tolerance) breaks the signature.
    with pytest.raises(BadSignature):
        verify_signature(SECRET, ts - 1, BODY, independent_signature(SECRET, ts, BODY))


def test_a_stale_or_future_timestamp_is_refused_even_when_correctly_signed():
    now = 1767582000
    old, future = now - 301, now + 301
    with pytest.raises(StaleTimestamp):
        verify_signature(SECRET, old, BODY, independent_signature(SECRET, old, BODY), now=now)
    with pytest.raises(StaleTimestamp):
        verify_signature(SECRET, future, BODY, independent_signature(SECRET, future, BODY), now=now)
    edge = now - 300
    verify_signature(SECRET, edge, BODY, independent_signature(SECRET, edge, BODY), now=now)
    # A wider tolerance accepts the old one.
    verify_signature(SECRET, old, BODY, independent_signature(SECRET, old, BODY), tolerance=600,
                     now=now)


@pytest.mark.parametrize("timestamp, header", [
    ("kemarin", "sha256=" + "0" * 64),
    ("-5", "sha256=" + "0" * 64),
    ("1767582000", None),
    ("1767582000", "md5=" + "0" * 64),
    ("1767582000", "sha256=abc"),
    ("1767582000", "0" * 64),
])
def test_malformed_headers_are_refused(timestamp, header):
    with pytest.raises(MalformedSignature) as err:
        verify_signature(SECRET, timestamp, BODY, header, now=1767582000)
    assert isinstance(err.value, SignatureError)
