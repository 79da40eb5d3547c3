"""Semantic checks, run on files that passed the schema.

Each module checks one concern and yields `Finding`s located at the offending
node. `run` runs them all over a `Corpus` (every file loaded together, since
levels refer to each other).
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Finding
from . import calendar, forms, graph, lifecycle, migrate, references, scoring, stage_roles
from .corpus import Corpus

CHECKS = (
    references.check,
    lifecycle.check,
    stage_roles.check,
    graph.check,
    calendar.check,
    scoring.check,
    forms.check,
    migrate.check,
)


def run(corpus: Corpus) -> Iterator[Finding]:
    for check in CHECKS:
        yield from check(corpus)


__all__ = ["Corpus", "run"]
