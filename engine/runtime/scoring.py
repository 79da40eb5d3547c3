"""The penilaian: Tumbuh / Berkembang / Berdaya from the criteria the definition declares.

A criterion is a stage (done, or done by its deadline) or a measure of form data:
``coverage`` (the average cakupan layanan of a form's coverage pairs over the whole region),
``ratio`` (the sum of one field over another's, e.g. budget realised over allocated),
``rows`` (a register has entries, e.g. regulations) or ``children`` (the share of child
regions classified in some bands). Each earns its weight times a fraction from 0 to 1; the
score is the points as a percentage of all weights, and the band the first whose minimum it
reaches. The approval of the scoring stage keeps the whole breakdown in its event, so the
result a region was approved with never changes afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..definitions import Definition
from ..definitions.forms.rules import rules_of
from ..forms.computed import child_scores
from ..forms.entry import stage_documents
from ..store.models import Task


@dataclass
class Score:
    score: float
    band: str | None
    criteria: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"score": round(self.score, 1), "band": self.band, "criteria": self.criteria}


def _rows(value: Any) -> list[dict]:
    if isinstance(value, dict):
        return [r for r in value.values() if isinstance(r, dict)]
    return [r for r in value or [] if isinstance(r, dict)]


def _total(rows: list[dict], names: tuple[str, ...]) -> float:
    return sum(v for r in rows for n in names
               if isinstance(v := r.get(n), (int, float)) and not isinstance(v, bool))


def coverage(definition: Definition, form: str, doc: dict) -> tuple[float, list[dict]]:
    """(average cakupan 0-100, one line per pair) over every row of the region."""
    pairs = []
    for c in rules_of(definition, form).coverage:
        rows = _rows(doc.get(c.section))
        targeted = _total(rows, c.targeted)
        if targeted > 0:
            pairs.append({"layanan": c.name, "cakupan": min(100.0, _total(rows, c.served)
                                                              / targeted * 100)})
    if not pairs:
        return 0.0, []
    return sum(p["cakupan"] for p in pairs) / len(pairs), pairs


class _Case:
    """What the criteria of one case read: its tasks and, lazily, its documents."""

    def __init__(self, session: Session, definition: Definition, case_id: int):
        self.session, self.definition = session, definition
        self.tasks = {t.stage: t for t in session.scalars(select(Task).where(Task.case_id == case_id))}
        self._docs: dict[str, dict] = {}

    def document(self, form: str) -> dict:
        if form not in self._docs:
            stage = next(s.id for s in self.definition.stages if form in s.outputs)
            task = self.tasks.get(stage)
            docs = stage_documents(self.session, self.definition, task) if task else {}
            self._docs[form] = docs.get(form, {})
        return self._docs[form]


def _fraction(case: _Case, criterion: Any) -> tuple[float, str]:
    d = case.definition
    if criterion.stage is not None:
        task = case.tasks.get(criterion.stage)
        done = task is not None and task.done_at is not None
        in_time = done and task.done_at <= task.due_at
        met = in_time if criterion.when == "on_time" else done
        said = ("disetujui tepat waktu" if in_time else "disetujui terlambat" if done
                else "belum disetujui")
        return (1.0 if met else 0.0), said
    (kind, spec), = criterion.measure.items()
    if kind == "coverage":
        average, pairs = coverage(d, spec["form"], case.document(spec["form"]))
        return average / 100, f"rata-rata cakupan {average:.1f}% dari {len(pairs)} layanan"
    if kind == "ratio":
        rows = _rows(case.document(spec["form"]).get(spec["section"]))
        of, to = _total(rows, (spec["of"],)), _total(rows, (spec["to"],))
        share = min(1.0, of / to) if to > 0 else 0.0
        return share, f"{share * 100:.1f}% ({of:,.0f} dari {to:,.0f})".replace(",", ".")
    if kind == "rows":
        count = len(_rows(case.document(spec["form"]).get(spec["section"])))
        wanted = spec.get("min", 1)
        return (1.0 if count >= wanted else 0.0), f"{count} baris (perlu {wanted})"
    if kind == "children":
        region = next(iter(case.tasks.values())).region_code
        year = next(iter(case.tasks.values())).year
        scores = child_scores(case.session, region, year)
        children = case.session.scalars(select(Task.region_code).distinct().where(
            Task.parent_code == region, Task.year == year)).all()
        good = sum(1 for c in children if scores.get(c, {}).get("band") in spec["bands"])
        share = good / len(children) if children else 0.0
        return share, f"{good} dari {len(children)} wilayah: {', '.join(spec['bands'])}"
    return 0.0, kind


def score_case(session: Session, definition: Definition, case_id: int) -> Score | None:
    """The case's score now, with one line per criterion; None without scoring."""
    sc = definition.scoring
    if sc is None:
        return None
    case = _Case(session, definition, case_id)
    total = sum(c.weight for c in sc.criteria) or 1
    lines, points = [], 0.0
    for c in sc.criteria:
        fraction, said = _fraction(case, c)
        earned = c.weight * fraction
        points += earned
        name = c.name or definition.stage(c.stage).name
        lines.append({"kriteria": name, "bobot": c.weight, "nilai": round(earned, 2),
                      "keterangan": said})
    value = points / total * 100
    return Score(value, sc.classify(value), lines)

