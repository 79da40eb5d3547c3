"""Persistence: models, connection, migrations. No state lives in process memory."""

from .database import DEFAULT_URL, ENV_VAR, Database, default_url
from .models import Assignment, Base, Case, DefinitionRow, Event, Region, Task, User

__all__ = [
    "Assignment", "Base", "Case", "DEFAULT_URL", "Database", "DefinitionRow", "ENV_VAR", "Event",
    "Region", "Task", "User", "default_url",
]
