"""The stage's documents as a page: sections, rows and cells built from the JSON Schema,
with each cell's value, owner, last year's value and problems.

`form_page` gives the stage page's ``tasks/_form.html`` its context; it returns None when
the stage has no documents.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def form_page(session: Session, *, task: Any, definition: Any, actor: Any) -> dict | None:
    return None
