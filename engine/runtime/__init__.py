"""The running engine: years, cases, tasks, gates, actions.

    >>> with db.session() as s:
    ...     start_year(s, definitions, 2026)
    ...     act_on(s, "19.01.01", "analisis_situasi", 2026, "submit", "ops1")

Every function takes the caller's session and changes nothing outside it:
the caller's transaction decides whether it all happened.
"""

from .actions import ActResult, act, act_on
from ..errors import (
    AksiError, Conflict, InvalidForm, InvalidTrigger, NotFound, NotPermitted, ReasonRequired,
    Refused,
)
from .gates import Blocker, blockers
from .progress import StageProgress, progress
from .stage_forms import FormsView, save_on, show_forms
from ..store.task_rows import find_task
from .tasks import TaskView, list_tasks, view
from .years import StartReport, start_year

__all__ = [
    "ActResult", "AksiError", "Blocker", "Conflict", "InvalidForm", "InvalidTrigger", "NotFound",
    "FormsView", "NotPermitted", "ReasonRequired", "Refused", "StageProgress", "StartReport", "TaskView", "act",
    "act_on", "blockers", "find_task", "list_tasks", "progress", "save_on", "show_forms",
    "start_year",
    "view",
]
