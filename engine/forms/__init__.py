"""Forms: the documents of every stage, entered per unit, checked like a careful verifikator.

    spec.py      a form's JSON Schema read as sections, rows and fields (`spec_of`)
    rules.py     its rules file: rules, coverage, year over year, roll-up, computed fields
    logic.py     JSON Logic: type-checked by python-jsonlogic, run as compiled closures
    validate.py  every problem of a document, in Bahasa Indonesia (`check_document`)
    parts.py     where the data lives: one row per part, merged into documents on read
    entry.py     who may write what, and saving a part (`save`); a stage's problems

This module exports only what needs no database (the definition checker uses it);
import `parts` and `entry` from their modules.
"""

from .rules import RuleSet, rules_of
from .spec import Field, FormSpec, Section, spec_of
from .validate import DRAFT, SUBMIT, FormContext, Problem, check_document

__all__ = ["DRAFT", "SUBMIT", "Field", "FormContext", "FormSpec", "Problem", "RuleSet", "Section",
           "check_document", "rules_of", "spec_of"]
