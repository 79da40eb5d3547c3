"""What a simulated year came to: per level and stage, from the database at the end.

- on time: reached the done state by its deadline; late: after it; missed: not
  done when the simulation ended (``never_opened`` counts those that never left
  the initial state: their gate never held);
- reminders and escalations: the notice events the tick wrote;
- classification: each region's penilaian at the end, as the engine scores it
  (`engine.runtime.scoring.score_case`: its level's ``scoring`` criteria - stages done
  or done on time, measures of the form data the operators entered - over the total
  weight, times 100) and the band it falls in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..definitions import Definition, DefinitionSet
from ..runtime.notices import ESCALATION, REMINDER
from ..runtime.scoring import score_case
from ..store.library import pinned
from ..store.models import Event, Task

if TYPE_CHECKING:
    from .plan import Timeline
    from .run import Counters, Settings

COUNTS = ("tasks", "on_time", "late", "missed", "never_opened", "returns", "reminders",
          "escalations")
UNCLASSIFIED = "-"
# What `compare` sets side by side for each stage, with its column heading.
COMPARED = {"on_time": "tepat", "late": "telat", "missed": "lewat", "reminders": "ingat",
            "escalations": "eskalasi"}


@dataclass
class SimulationReport:
    settings: dict
    start: str
    end: str
    steps: int
    levels: list[dict]
    totals: dict
    actions: dict
    drawn: dict
    refused: list[dict] = field(default_factory=list)
    elapsed: float = 0.0  # seconds; not part of as_dict(): the same seed gives the same dict

    def as_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "start": self.start, "end": self.end,
                "steps": self.steps, "levels": self.levels, "totals": self.totals,
                "actions": self.actions, "drawn": self.drawn, "refused": self.refused}

    def level(self, name: str) -> dict:
        return next(lv for lv in self.levels if lv["level"] == name)

    def text(self) -> str:
        s = self.settings
        lines = [f"Simulasi tahun {s['year']}, provinsi {s['province']} (seed {s['seed']}, "
                 f"terlambat {s['lateness']:.2f}, terlewat {s['missed']:.2f}, "
                 f"dikembalikan {s['return_rate']:.2f})",
                 f"jam virtual {self.start} s.d. {self.end}, {self.steps} langkah harian"]
        head = ("tugas", "tepat", "telat", "lewat", "tak-buka", "kembali", "ingat", "eskalasi")
        for lv in self.levels:
            lines.append("")
            lines.append(f"{lv['level']} (tingkat {lv['tier']}): {lv['regions']} wilayah, "
                         f"{lv['totals']['tasks']} tahap")
            width = max([len("tahap"), *(len(st["stage"]) for st in lv["stages"])])
            lines.append("  " + "tahap".ljust(width) + "".join(f"{h:>9}" for h in head))
            for row in [*lv["stages"], {"stage": "jumlah", **lv["totals"]}]:
                lines.append("  " + row["stage"].ljust(width)
                             + "".join(f"{row[k]:>9}" for k in COUNTS))
            c = lv["classification"]
            if c is None:
                lines.append("  klasifikasi: - (tingkat ini tanpa penilaian)")
            else:
                bands = ", ".join(f"{band} {n}" for band, n in c["bands"].items())
                lines.append(f"  klasifikasi: {bands} (skor rata-rata {c['mean_score']:.1f})")
        t = self.totals
        lines.append("")
        lines.append(f"jumlah: {t['tasks']} tahap - {t['on_time']} tepat waktu, {t['late']} "
                     f"terlambat, {t['missed']} terlewat; {t['reminders']} pengingat, "
                     f"{t['escalations']} eskalasi; {sum(self.actions.values())} tindakan, "
                     f"{t['returns']} dikembalikan")
        if self.refused:
            lines.append(f"ditolak/terhenti: {len(self.refused)}")
            for r in self.refused[:10]:
                lines.append(f"  {r['region']} {r['stage']} ({r['state']}"
                             + (f", {r['trigger']}" if r["trigger"] else "")
                             + (f", unit {r['unit']}" if r.get("unit") else "")
                             + f"): {r['message']}")
        lines.append(f"waktu: {self.elapsed:.1f} s")
        return "\n".join(lines)


def collect(session: Session, definitions: DefinitionSet, settings: "Settings",
            timeline: "Timeline", counters: "Counters", drawn: dict[str, int]) -> SimulationReport:
    p = settings.province
    in_scope = lambda col: or_(col == p, col.startswith(p + "."))  # noqa: E731
    rows = session.execute(select(Task.id, Task.level, Task.stage, Task.region_code, Task.state,
                                  Task.due_at, Task.done_at, Task.case_id, Task.definition_hash)
                           .where(Task.year == settings.year, in_scope(Task.region_code))
                           .order_by(Task.id)).all()
    notices = Counter({(lv, st, kind): n for lv, st, kind, n in session.execute(
        select(Event.level, Event.stage, Event.kind, func.count())
        .where(Event.year == settings.year, Event.kind.in_([REMINDER, ESCALATION]),
               in_scope(Event.region_code))
        .group_by(Event.level, Event.stage, Event.kind)).all()})
    per_stage: dict[tuple[str, str], Counter] = {}
    regions: dict[str, dict[str, tuple]] = {}  # level -> region -> (case id, definition hash)
    for r in rows:
        d = definitions[r.level]
        c = per_stage.setdefault((r.level, r.stage), Counter())
        c["tasks"] += 1
        if r.state == d.lifecycle.done:
            c["on_time" if r.done_at <= r.due_at else "late"] += 1
        else:
            c["missed"] += 1
            if r.state == d.lifecycle.initial:
                c["never_opened"] += 1
        regions.setdefault(r.level, {})[r.region_code] = (r.case_id, r.definition_hash)
    levels = []
    totals = Counter()
    for d in sorted(definitions, key=lambda d: d.tier):
        stages = []
        level_totals = Counter()
        for s in d.stages:
            c = per_stage.get((d.level, s.id), Counter())
            c["returns"] = counters.returns[(d.level, s.id)]
            c["reminders"] = notices[(d.level, s.id, REMINDER)]
            c["escalations"] = notices[(d.level, s.id, ESCALATION)]
            stages.append({"stage": s.id, "name": s.name, **{k: c[k] for k in COUNTS}})
            level_totals.update({k: c[k] for k in COUNTS})
        totals.update(level_totals)
        levels.append({
            "level": d.level, "tier": d.tier, "regions": len(regions.get(d.level, {})),
            "stages": stages, "totals": {k: level_totals[k] for k in COUNTS},
            "classification": _classify(session, d, regions.get(d.level, {})),
        })
    totals_out = {k: totals[k] for k in COUNTS}
    totals_out["reminders_ticked"] = counters.reminders
    totals_out["escalations_ticked"] = counters.escalations
    return SimulationReport(
        settings=settings.as_dict(), start=settings.start.isoformat(),
        end=timeline.at(timeline.count - 1).isoformat(), steps=timeline.count,
        levels=levels, totals=totals_out, actions=dict(sorted(counters.actions.items())),
        drawn=dict(drawn), refused=counters.refused)


def _classify(session: Session, d: Definition, regions: dict[str, tuple]) -> dict | None:
    if d.scoring is None:
        return None
    bands = Counter()
    scores = []
    for code in sorted(regions):
        case_id, content_hash = regions[code]
        result = score_case(session, pinned(session, content_hash), case_id)
        scores.append(result.score)
        bands[result.band or UNCLASSIFIED] += 1
    names = [b.name for b in d.scoring.bands]
    if bands[UNCLASSIFIED]:
        names.append(UNCLASSIFIED)
    return {"bands": {n: bands[n] for n in names},
            "mean_score": round(sum(scores) / len(scores), 2) if scores else 0.0}


def compare(left: SimulationReport, right: SimulationReport,
            labels: tuple[str, str] = ("sekarang", "usulan")) -> str:
    """Two reports of the same settings side by side, level by level and stage by stage:
    on time, late, missed, reminders and escalations, then the classification. A row
    whose figures differ ends with ``*``; a stage or level only one side has shows ``-``
    on the other."""
    s = left.settings
    lines = [f"Perbandingan simulasi tahun {s['year']}, provinsi {s['province']} (seed "
             f"{s['seed']}, terlambat {s['lateness']:.2f}, terlewat {s['missed']:.2f}, "
             f"dikembalikan {s['return_rate']:.2f})",
             f"kiri: {labels[0]}; kanan: {labels[1]}"]
    tiers = {lv["level"]: lv["tier"] for lv in [*right.levels, *left.levels]}
    for level in sorted(tiers, key=lambda name: (tiers[name], name)):
        lines += [""] + _compare_level(_level_or_none(left, level), _level_or_none(right, level),
                                       level, tiers[level])
    lines.append("")
    for label, report in zip(labels, (left, right)):
        t = report.totals
        lines.append(f"{label}: {t['tasks']} tahap - {t['on_time']} tepat waktu, {t['late']} "
                     f"terlambat, {t['missed']} terlewat; {t['reminders']} pengingat, "
                     f"{t['escalations']} eskalasi")
    return "\n".join(lines)


def _level_or_none(report: SimulationReport, level: str) -> dict | None:
    return next((lv for lv in report.levels if lv["level"] == level), None)


def _compare_level(a: dict | None, b: dict | None, level: str, tier: int) -> list[str]:
    regions = " | ".join(f"{lv['regions']} wilayah" if lv else "-" for lv in (a, b))
    rows_a = {st["stage"]: st for st in (a or {}).get("stages", [])}
    rows_b = {st["stage"]: st for st in (b or {}).get("stages", [])}
    stages = [*rows_a, *(st for st in rows_b if st not in rows_a)]
    rows = [(st, rows_a.get(st), rows_b.get(st)) for st in stages]
    rows.append(("jumlah", a and a["totals"], b and b["totals"]))
    width = max(len("tahap"), *(len(name) for name, _, _ in rows))
    head = "".join(f"{h:>9}" for h in COMPARED.values())
    lines = [f"{level} (tingkat {tier}): {regions}",
             "  " + "tahap".ljust(width) + head + " |" + head]
    for name, x, y in rows:
        cells = [_cells(x), _cells(y)]
        mark = "  *" if cells[0] != cells[1] else ""
        lines.append(("  " + name.ljust(width) + cells[0] + " |" + cells[1] + mark).rstrip())
    lines.append("  klasifikasi: " + " | ".join(_classes(lv) for lv in (a, b)))
    return lines


def _cells(row: dict | None) -> str:
    return "".join(f"{(row[k] if row else '-'):>9}" for k in COMPARED)


def _classes(level: dict | None) -> str:
    c = level and level["classification"]
    if not c:
        return "-"
    return (", ".join(f"{band} {n}" for band, n in c["bands"].items())
            + f" (skor rata-rata {c['mean_score']:.1f})")
