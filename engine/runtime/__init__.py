"""The running engine: years, cases, tasks, gates, actions.

    >>> with db.session() as s:
    ...     start_year(s, definitions, 2026)
    ...     act_on(s, "19.01.01", "analisis_situasi", 2026, "submit", "ops1")

Every function takes the caller's session and changes nothing outside it:
the caller's transaction decides whether it all happened.
"""

import importlib

from ..errors import (
    AksiError, Conflict, InvalidForm, InvalidTrigger, NotFound, NotPermitted, ReasonRequired,
    Refused,
)
# Imported now: a submodule of the same name as the function would take its place once
# anything imported it (the import system sets the package attribute).
from .progress import StageProgress, progress

_EXPORTS = {
    "ActResult": ".actions", "act": ".actions", "act_on": ".actions",
    "Blocker": ".gates", "blockers": ".gates",
    "FormsView": ".stage_forms", "save_on": ".stage_forms", "show_forms": ".stage_forms",
    "find_task": "..store.task_rows",
    "TaskView": ".tasks", "list_tasks": ".tasks", "view": ".tasks",
    "StartReport": ".years", "start_year": ".years",
}
__all__ = sorted([*_EXPORTS, "StageProgress", "progress", "AksiError", "Conflict", "InvalidForm", "InvalidTrigger",
                  "NotFound", "NotPermitted", "ReasonRequired", "Refused"])


def __getattr__(name: str):
    # Imported on first use: showing a stage (``tasks``) does not import acting on one
    # (``actions``: form validation, JSON Schema, JSON Logic), nor a year start.
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
