"""Dates: each must exist, and the deadlines must leave time to work in order.

Deadline contradictions are warnings, not errors: the juknis itself has one
(a stage due before the stage it must follow) and the definition must be able
to encode the book as written while making the problem visible.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterator

from ..dates import REFERENCE_YEARS, START_OF_YEAR, BadDate, DayOfYear, earlier, same_day
from ..findings import Finding
from ..source import SourceDoc
from .corpus import Corpus

Dates = dict[str, tuple[DayOfYear, DayOfYear]]  # stage id -> (opens, due)


def check(corpus: Corpus) -> Iterator[Finding]:
    all_dates: dict[str, Dates] = {}  # by level; a duplicated level keeps its first file
    own: dict[int, Dates] = {}
    for doc in corpus:
        dates = own[id(doc)] = {}
        yield from _parse(doc, dates)
        all_dates.setdefault(doc.data["level"], dates)
    for doc in corpus:
        dates = own[id(doc)]
        yield from _order(doc, dates)
        yield from _children(corpus, doc, dates, all_dates)
        yield from _reminders(doc, dates)


def _parse(doc: SourceDoc, dates: Dates) -> Iterator[Finding]:
    for i, stage in Corpus.stages(doc):
        parsed: dict[str, DayOfYear] = {}
        for key in ("opens", "due"):
            if key not in stage:
                continue
            try:
                day = parsed[key] = DayOfYear.parse(stage[key])
            except BadDate as exc:
                yield doc.error(("stages", i, key), "impossible-date", f"'{stage[key]}': {exc}")
                continue
            if day.is_leap_day:
                yield doc.warning(("stages", i, key), "leap-day",
                                  "29 Februari hanya ada pada tahun kabisat; pada tahun lain "
                                  "dipakai 28 Februari. Tulis \"02\" untuk akhir Februari")
        if "due" not in parsed or ("opens" in stage and "opens" not in parsed):
            continue
        opens = parsed.get("opens", START_OF_YEAR)
        if earlier(parsed["due"], opens):
            yield doc.error(("stages", i, "opens"), "opens-after-due",
                            f"tahap '{stage['id']}' dibuka {opens}, sesudah tenggatnya "
                            f"sendiri ({parsed['due']})")
        if stage["id"] not in dates:
            dates[stage["id"]] = (opens, parsed["due"])


def _order(doc: SourceDoc, dates: Dates) -> Iterator[Finding]:
    for i, stage in Corpus.stages(doc):
        if stage["id"] not in dates:
            continue
        due = dates[stage["id"]][1]
        for dep in stage.get("after", []):
            if dep in dates and earlier(due, dates[dep][1]):
                yield doc.warning(
                    ("stages", i, "due"), "due-before-predecessor",
                    f"tahap '{stage['id']}' bertenggat {due}, padahal baru dapat dimulai "
                    f"sesudah tahap '{dep}' disetujui, yang bertenggat {dates[dep][1]}: "
                    "tenggat ini tidak mungkin dipenuhi bila tahap sebelumnya memakai "
                    "seluruh waktunya")


def _children(corpus: Corpus, doc: SourceDoc, dates: Dates,
              all_dates: dict[str, Dates]) -> Iterator[Finding]:
    child = corpus.child(doc)
    if child is None:
        return
    for i, stage in Corpus.stages(doc):
        wf = stage.get("waits_for")
        if wf is None or wf["level"] != child.data["level"] or stage["id"] not in dates:
            continue
        child_dates = all_dates.get(wf["level"], {})
        if wf["stage"] not in child_dates:
            continue
        due, child_due = dates[stage["id"]][1], child_dates[wf["stage"]][1]
        who = f"tahap '{wf['stage']}' seluruh {wf['level']}"
        if earlier(due, child_due):
            yield doc.warning(("stages", i, "due"), "due-before-child",
                              f"tahap '{stage['id']}' bertenggat {due}, sebelum tenggat {who} "
                              f"yang ditunggunya ({child_due})")
        elif same_day(due, child_due):
            yield doc.warning(("stages", i, "due"), "no-slack",
                              f"tahap '{stage['id']}' bertenggat {due}, hari yang sama dengan "
                              f"tenggat {who} yang ditunggunya: bila satu {wf['level']} "
                              "terlambat, tahap ini pasti terlambat")


def _reminders(doc: SourceDoc, dates: Dates) -> Iterator[Finding]:
    defaults = doc.data.get("defaults", {}).get("reminders", [])
    for i, stage in Corpus.stages(doc):
        if stage["id"] not in dates:
            continue
        due = dates[stage["id"]][1]
        own = "reminders" in stage
        for j, reminder in enumerate(stage["reminders"] if own else defaults):
            path = (("stages", i) if own else ("defaults",)) + ("reminders", j, "before")
            days = reminder["before"]
            if any(due.in_year(y) - dt.timedelta(days=days) < dt.date(y, 1, 1)
                   for y in REFERENCE_YEARS):
                yield doc.warning(path, "reminder-outside-year",
                                  f"pengingat {days} hari sebelum tenggat tahap '{stage['id']}' "
                                  f"({due}) jatuh sebelum 1 Januari, di luar tahun siklus, "
                                  "dan tidak akan pernah dikirim")
