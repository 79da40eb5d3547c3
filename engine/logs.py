"""Logging for the processes aksi runs (`aksi serve`, `aksi worker`, the app under
gunicorn): plain lines by default; one JSON object per line with ``AKSI_LOG_FORMAT=json``,
for log collectors. ``AKSI_LOG_LEVEL`` (default INFO) sets the level.

A JSON line has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the fields a
call passed with ``extra=``, and ``exception`` (the traceback as text) when there is one.
Leaf module: standard library only, so every command can call `configure` at start.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys

FORMAT_ENV = "AKSI_LOG_FORMAT"
LEVEL_ENV = "AKSI_LOG_LEVEL"
_MARK = "_aksi_handler"
# Attributes every LogRecord has: anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
            .isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD
                    and not k.startswith("_")})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(environ: dict | None = None, stream=None) -> logging.Handler:
    """Install the process's log handler on the root logger (once; calling again replaces
    it, so a test or a second app in one process does not double every line)."""
    environ = os.environ if environ is None else environ
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _MARK, True)
    if environ.get(FORMAT_ENV, "text").lower() == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(environ.get(LEVEL_ENV, "INFO").upper())
    return handler
