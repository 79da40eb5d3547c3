"""What can go wrong when people act on stages.

    AksiError
    ├── NotFound          no such region, case, stage, user or trigger
    ├── Refused           the action is not allowed; nothing was changed
    │   ├── NotPermitted      the user lacks the role, or the region is outside their scope
    │   ├── InvalidTrigger    the trigger does not apply to the stage's current state
    │   ├── ReasonRequired    the trigger needs a written reason
    │   ├── InvalidForm       the stage's forms do not validate (``problems`` lists them)
    │   ├── InvalidImport     a file to import has problems (``problems`` lists them by line)
    │   └── MigrationRefused  running cases cannot move to the definition on disk (``problems``)
    └── Conflict          somebody else changed the stage first; reload and try again

Beside the tree, ``ConfigurationError``: the web app cannot start with its settings.

Messages are in Bahasa Indonesia: they reach operators and supervisors as they are.
Context travels as keyword arguments and stays on the exception.
"""

from __future__ import annotations


class AksiError(Exception):
    def __init__(self, message: str, **context: object):
        super().__init__(message)
        self.message = message
        self.context = context

    def as_dict(self) -> dict:
        return {"error": type(self).__name__, "message": self.message,
                **{k: v for k, v in self.context.items() if v is not None}}


class NotFound(AksiError):
    pass


class Refused(AksiError):
    pass


class NotPermitted(Refused):
    pass


class InvalidTrigger(Refused):
    pass


class ReasonRequired(Refused):
    pass


class _Listed(Refused):
    """A refusal with its ``problems`` listed (each a line for people)."""

    def __init__(self, message: str, *, problems: list[str], **context: object):
        super().__init__(message, problems=problems, **context)
        self.problems = problems


class InvalidForm(_Listed):
    pass


class InvalidImport(_Listed):
    pass


class MigrationRefused(_Listed):
    pass


class Conflict(AksiError):
    pass


class ConfigurationError(RuntimeError):
    """Not an action refused: the web app cannot start with this configuration (the
    message names the setting, never a secret's value). ``aksi serve`` says it and exits."""
