"""A form's rules file, read into what the engine runs: rules, coverage pairs, rows that must
differ, year-over-year tolerances, roll-up and computed fields (the format:
docs/form-format.md).

Coverage pairs are rules too ("served <= targeted"): they are declared once, as pairs,
because the same pair also gives the cakupan layanan the documents show and the scoring
uses.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Mapping

from .logic import Fn, compile_logic

ERROR, WARNING = "error", "warning"
CYCLE = "_siklus"  # context a rule may read: _siklus.tahun is the cycle year


@dataclass(frozen=True)
class Rule:
    id: str
    section: str | None  # None: a document rule, whose vars are "section.field"
    check: Any
    severity: str
    message: str | None
    source: str
    fn: Fn
    reads: frozenset[str]

    @property
    def fields(self) -> frozenset[str]:
        """The form fields the rule reads (without the cycle context)."""
        return frozenset(r for r in self.reads if not r.startswith(CYCLE + "."))


@dataclass(frozen=True)
class Coverage:
    section: str
    served: tuple[str, ...]
    targeted: tuple[str, ...]
    severity: str = ERROR

    @property
    def name(self) -> str:
        return "+".join(self.served)


@dataclass(frozen=True)
class Unique:
    """No two rows of ``section`` alike in ``fields`` (each row judged once all of them are
    filled; texts alike whatever their case and spacing): a rule across rows."""
    id: str
    section: str
    fields: tuple[str, ...]
    severity: str = ERROR
    message: str | None = None
    source: str = ""


@dataclass(frozen=True)
class YearOverYear:
    section: str
    fields: tuple[str, ...] | None  # None: every count field of the section
    factor: float


@dataclass(frozen=True)
class Rollup:
    section: str         # this form's x-per: child section
    stage: str           # the child level's stage ...
    form: str            # ... and form ...
    from_section: str    # ... and section whose rows are summed per child
    sum: tuple[str, ...]


@dataclass(frozen=True)
class Computed:
    field: str  # section.field
    kind: str   # published_stages | child_state | child_classification
    options: Mapping[str, Any]


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    coverage: tuple[Coverage, ...]
    year_over_year: tuple[YearOverYear, ...]
    rollup: tuple[Rollup, ...]
    computed: tuple[Computed, ...]
    unique: tuple[Unique, ...] = ()


EMPTY = RuleSet((), (), (), (), ())


def _ids(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _sum(names: tuple[str, ...]) -> Any:
    terms = [{"var": n} for n in names]
    return terms[0] if len(terms) == 1 else {"+": terms}


def coverage_rule(c: Coverage) -> Rule:
    check = {"<=": [_sum(c.served), _sum(c.targeted)]}
    fn, reads = compile_logic(check)
    return Rule(f"cakupan:{c.name}", c.section, check, c.severity, None,
                "coverage", fn, reads)


def parse(data: Mapping[str, Any] | None) -> RuleSet:
    """The rule set of a rules file that passed the form checker."""
    if not data:
        return EMPTY
    coverage = tuple(Coverage(c["section"], _ids(c["served"]), _ids(c["targeted"]),
                              c.get("severity", ERROR)) for c in data.get("coverage") or ())
    rules = [coverage_rule(c) for c in coverage]
    for r in data.get("rules") or ():
        fn, reads = compile_logic(r["check"])
        rules.append(Rule(r["id"], r.get("section"), r["check"], r.get("severity", ERROR),
                          r.get("message"), r.get("source", ""), fn, reads))
    return RuleSet(
        rules=tuple(rules),
        coverage=coverage,
        year_over_year=tuple(YearOverYear(y["section"], _ids(y.get("fields")) or None,
                                          float(y.get("factor", 3)))
                             for y in data.get("year_over_year") or ()),
        rollup=tuple(Rollup(r["section"], r["from"]["stage"], r["from"]["form"],
                            r["from"]["section"], _ids(r["sum"]))
                     for r in data.get("rollup") or ()),
        computed=tuple(Computed(c["field"], c["kind"],
                                {k: v for k, v in c.items() if k not in ("field", "kind")})
                       for c in data.get("computed") or ()),
        unique=tuple(Unique(u["id"], u["section"], _ids(u["fields"]), u.get("severity", ERROR),
                            u.get("message"), u.get("source", ""))
                     for u in data.get("unique") or ()),
    )


@functools.lru_cache(maxsize=256)
def rules_of(definition: Any, form: str) -> RuleSet:
    """The rules of one of ``definition``'s forms (cached: definitions never change)."""
    return parse(definition.form_rules.get(form))
