"""Workflow definitions: YAML in, frozen `Definition`s out, every mistake located.

    >>> from engine.definitions import load, check
    >>> definitions = load()                 # DefinitionError if any error
    >>> definitions["kecamatan"].stage("analisis_situasi").due
    >>> for finding in check([path]): print(finding)   # file:line:col: severity code: message
"""

from .dates import BadDate, DayOfYear
from .findings import DefinitionError, Finding, Severity
from .loader import check, default_directory, definition_files, inspect, load
from .model import (
    Definition, DefinitionSet, Lifecycle, Notice, Role, RoleRef, Scoring, Stage, Trigger, WaitsFor,
)

__all__ = [
    "BadDate", "DayOfYear", "Definition", "DefinitionError", "DefinitionSet", "Finding",
    "Lifecycle", "Notice", "Role", "RoleRef", "Scoring", "Severity", "Stage", "Trigger",
    "WaitsFor", "check", "default_directory", "definition_files", "inspect", "load",
]
