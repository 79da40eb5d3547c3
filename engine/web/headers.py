"""Security headers on every response, and cookies and HSTS for a site behind HTTPS.

The pages load only this site's own scripts and style sheets (engine/web/static) and
carry data for them in ``<script type="application/json">`` blocks, which a browser never
runs; no page has an inline script, a ``style`` element or attribute, or an event-handler
attribute (tests/web/test_edge.py reads every kind of page for them). So the policy can
forbid everything else:

- ``Content-Security-Policy`` = `POLICY` (``frame-ancestors 'none'``: no other site may
  frame a page to trick a click). A response that set its own policy keeps it (a printable
  document shown inline is sandboxed by engine/web/downloads.py) and gets
  ``frame-ancestors 'none'`` added when it has none;
- ``X-Frame-Options: DENY`` (the same, for browsers without CSP level 2),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``.

Behind HTTPS (config ``HTTPS``, env ``AKSI_HTTPS=1``; set it only when every request
reaches the site over HTTPS, e.g. through a TLS-terminating proxy) the session and
remember-me cookies are ``Secure`` and ``Strict-Transport-Security`` tells browsers to use
HTTPS only, for a year. Without it neither is sent: over plain HTTP a ``Secure`` cookie
would never come back and sign-ins would fail.
"""

from __future__ import annotations

from flask import Flask, Response

DEFAULTS = {"HTTPS": False}
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
          "form-action 'self'; frame-ancestors 'none'")
# The pages with diagrams (engine/web/definitions.py) allow inline styles as well, and
# only that: Mermaid writes each diagram's look as a ``<style>`` element (and a few
# ``style`` attributes) into the SVG it draws, which ``style-src 'self'`` would drop,
# leaving black shapes. Scripts stay this site's own files.
DIAGRAM_POLICY = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
HSTS = "max-age=31536000"
FIXED = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
         "Referrer-Policy": "same-origin"}


def behind_https(app: Flask) -> bool:
    """``HTTPS`` as configured: ``AKSI_HTTPS=1`` (or ``true``) arrives parsed as JSON."""
    value = app.config.get("HTTPS")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "ya", "on")
    return bool(value)


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    https = behind_https(app)
    if https:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True,
                          PREFERRED_URL_SCHEME="https")

    @app.after_request
    def secure(response: Response) -> Response:
        policy = response.headers.get("Content-Security-Policy")
        if policy is None:
            response.headers["Content-Security-Policy"] = POLICY
        elif "frame-ancestors" not in policy:
            response.headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'"
        for name, value in FIXED.items():
            response.headers.setdefault(name, value)
        if https:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
