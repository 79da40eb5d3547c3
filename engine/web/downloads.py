"""Answers that hand a file to the browser: the one way the API and the pages send one.

A download always carries a Content-Disposition built by
`engine.forms.files.content_disposition` (an ASCII fallback name plus the real name
RFC 8187-encoded: no header injection, no path) and ``X-Content-Type-Options: nosniff``
(the type is the one read from the content, and the browser must not guess another).
A page shown inline (a printable document) is sandboxed by its Content-Security-Policy:
it runs no script and loads nothing from anywhere, whatever the typed data holds.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, send_file

from ..forms.files import content_disposition

# For a document shown in the browser: its own inline styles only.
INLINE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def send_download(content: bytes | Path, media_type: str, filename: str, *,
                  inline: bool = False) -> Response:
    """``content`` (bytes, or a kept file's path, streamed from disk) as ``filename``."""
    if isinstance(content, Path):
        answer = send_file(content, mimetype=media_type, conditional=False, etag=False,
                           max_age=0)
    else:
        answer = Response(content, mimetype=media_type)
    answer.headers["Content-Disposition"] = content_disposition(filename, inline=inline)
    answer.headers["X-Content-Type-Options"] = "nosniff"
    answer.headers["Cache-Control"] = "private, no-store"
    if inline:
        answer.headers["Content-Security-Policy"] = INLINE_POLICY
    return answer
