"""Spreadsheets, printable documents and attachments from the stage page.

`sheets_panel` gives the stage page's ``tasks/_sheets.html`` its context; it returns None
when the stage has no documents.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def sheets_panel(session: Session, *, task: Any, definition: Any, actor: Any) -> dict | None:
    return None
