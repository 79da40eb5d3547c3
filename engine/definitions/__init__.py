"""Workflow definitions: YAML in, frozen `Definition`s out, every mistake located.

    >>> from engine.definitions import load, check
    >>> definitions = load()                 # DefinitionError if any error
    >>> definitions["kecamatan"].stage("analisis_situasi").due
    >>> for finding in check([path]): print(finding)   # file:line:col: severity code: message

Loading and checking (``loader``: YAML, JSON Schema, the form checks) is imported on first
use, so what only needs the frozen model (a day of the year, a pinned definition) does not
pay for the checker's imports.
"""

import importlib

from .dates import BadDate, DayOfYear
from .findings import DefinitionError, Finding, Severity
from .model import (
    Definition, DefinitionSet, Lifecycle, Notice, Role, RoleRef, Scoring, Stage, Trigger, WaitsFor,
)

__all__ = [
    "BadDate", "DayOfYear", "Definition", "DefinitionError", "DefinitionSet", "Finding",
    "Lifecycle", "Notice", "Role", "RoleRef", "Scoring", "Severity", "Stage", "Trigger",
    "WaitsFor", "check", "default_directory", "definition_files", "inspect", "load",
]

_LOADER = {"check", "default_directory", "definition_files", "inspect", "load"}


def __getattr__(name: str):
    if name in _LOADER:
        return getattr(importlib.import_module(".loader", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
