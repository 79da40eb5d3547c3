"""Forms: the documents of every stage, entered per unit, checked like a careful verifikator.

    spec.py      a form's JSON Schema read as sections, rows and fields (`spec_of`)
    rules.py     its rules file: rules, coverage, year over year, roll-up, computed fields
    logic.py     JSON Logic: type-checked by python-jsonlogic, run as compiled closures
    validate.py  every problem of a document, in Bahasa Indonesia (`check_document`)
    parts.py     where the data lives: one row per part, merged into documents on read
    entry.py     who may write what, and saving a part (`save`); a stage's problems

This module exports only what needs no database (the definition checker uses it), each
imported on first use; import `parts` and `entry` from their modules.
"""

import importlib

_EXPORTS = {
    "RuleSet": "rules", "rules_of": "rules",
    "Field": "spec", "FormSpec": "spec", "Section": "spec", "spec_of": "spec",
    "DRAFT": "validate", "SUBMIT": "validate", "FormContext": "validate", "Problem": "validate",
    "check_document": "validate",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    # Each name is imported from its module on first use, so that reading a stored part
    # (``parts``) does not pay for JSON Schema and JSON Logic (``validate``, ``rules``).
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
