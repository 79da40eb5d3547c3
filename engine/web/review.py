"""What a verifikator or approver needs beside the form: what changed since the last
submission, the warnings, and returning a part with a reason (and the cells concerned).

`review_panel` gives the stage page's ``tasks/_review.html`` its context; it returns
None when there is nothing to show.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def review_panel(session: Session, *, task: Any, definition: Any, actor: Any) -> dict | None:
    return None
