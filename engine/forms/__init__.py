"""Forms: the documents of every stage, entered per unit, checked like a careful verifikator.

    validate.py  every problem of a document, in Bahasa Indonesia (`check_document`)
    parts.py     where the data lives: one row per part, merged into documents on read
    entry.py     who may write what, and saving a part (`save`); a stage's problems

A form as written (its JSON Schema read as sections and fields, its rules in JSON Logic) is
part of the definitions: `engine.definitions.forms`. This module exports the checking of a
document, imported on first use; import `parts` and `entry` from their modules.
"""

import importlib

_EXPORTS = {
    "DRAFT": ".validate", "SUBMIT": ".validate", "FormContext": ".validate",
    "Problem": ".validate", "check_document": ".validate",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    # Imported on first use, so that reading a stored part (``parts``) does not pay for
    # JSON Schema (``validate``).
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
