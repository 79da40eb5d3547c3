"""Helpers of the stage-flow browser test (test_stage_flow.py): the store prepared through
the engine's Python API with the clock pinned, the Flask app served in-process on a
loopback port, and what every page of the flow is checked for (width, words, screenshot).

The store: Kepulauan Bangka Belitung with its desa, the year 2026 started at `NOW` (5
January, 10:00 WIB: the kecamatan analysis is open, due 15 January). In Kabupaten Belitung
every kecamatan but `KEC` has its analysis approved with sample data (so the kabupaten's
analysis opens when `KEC` is approved); `KEC` (Selat Nasik, four desa) has every unit's
sample data saved but for the last two desa (`TYPED`): those the operators enter in the
browser. The values come from the engine's sample generator (seeded), so the test knows
what to type and what the sums must be.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal
from sqlalchemy import select

from engine.definitions.forms.spec import spec_of
from engine.forms.entry import context_for
from engine.forms.sample import sample_document
from engine.people import add_user
from engine.regions import load_regions
from engine.runtime import find_task, save_on, start_year
from engine.store.library import pinned
from engine.store.models import Region
from forms.walk import add_people, fill_and_approve, owned, person

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)  # 10:00 WIB, the analysis is open
YEAR, PROVINCE, KAB, KEC = 2026, "19", "19.02", "19.02.03"  # Belitung; Selat Nasik: 4 desa
STAGE, FORM, KAB_FORM = "analisis_situasi", "kec_analisis_situasi", "kab_analisis_situasi"
SECTION, KAB_SECTION = "desa", "kecamatan"
UNITS = ("Setcam", "Puskesmas", "PLKB")
KAB_UNIT = "Bappeda"
PASSWORD = "rahasia-e2e"
SEED = 7


@dataclass
class Scenario:
    """What was prepared: the kecamatan's whole sample document, the desa typed in the
    browser, and the other kecamatan's approved documents."""

    doc: dict  # FORM's sample document of KEC (every unit's fields, every desa)
    typed: tuple[str, ...]  # desa codes the operators enter in the browser
    desa_names: dict[str, str]
    others: dict[str, dict] = field(default_factory=dict)  # kecamatan -> FORM document


def artifacts_dir(tmp_path_factory, backend: str) -> Path:
    """Where screenshots go: ``$AKSI_TEST_ARTIFACTS/stage_flow/<backend>``, else a
    directory under the test session's tmp dir."""
    root = os.environ.get("AKSI_TEST_ARTIFACTS")
    path = (Path(root) / "stage_flow" / backend if root
            else tmp_path_factory.mktemp(f"artifacts-{backend}"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def prepare(db, definitions) -> Scenario:
    """The store as the module docstring describes it (the caller pins the clock)."""
    with db.session() as s:
        load_regions(s, PROVINCE, with_desa=True)
    with db.session() as s:
        start_year(s, definitions, YEAR, province=PROVINCE, now=NOW)
        kecamatan = list(s.scalars(select(Region.code).where(Region.parent_code == KAB)
                                   .order_by(Region.code)))
        for code in kecamatan:
            if code != KEC:
                add_people(s, definitions, code)
        # The people of the flow, with passwords (named as tests/forms/walk.py names them).
        for role in ("operator", "verifikator"):
            for unit in UNITS:
                add_user(s, definitions, person(role, KEC, unit), role=role, region=KEC,
                         unit=unit, password=PASSWORD, now=NOW)
        add_user(s, definitions, person("approver", KEC), role="approver", region=KEC,
                 password=PASSWORD, now=NOW)
        add_user(s, definitions, person("operator", KAB, KAB_UNIT), role="operator",
                 region=KAB, unit=KAB_UNIT, password=PASSWORD, now=NOW)
        desa_names = dict(s.execute(select(Region.code, Region.name)
                                    .where(Region.parent_code == KEC)).all())
    others = {code: fill_and_approve(db, code, STAGE, YEAR, seed=i, now=NOW)[FORM]
              for i, code in enumerate(kecamatan) if code != KEC}

    with db.session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        definition = pinned(s, task.definition_hash)
        doc = sample_document(definition, FORM, context_for(s, definition, task),
                              rng=random.Random(SEED))
    codes = sorted(doc[SECTION])
    assert len(codes) >= 3, codes
    typed = tuple(codes[-2:])
    for unit in UNITS:
        part = owned(definition, FORM, doc, unit)
        part[SECTION] = {c: row for c, row in part[SECTION].items() if c not in typed}
        with db.session() as s:
            save_on(s, KEC, STAGE, YEAR, person("operator", KEC, unit), {FORM: part}, now=NOW)
    return Scenario(doc=doc, typed=typed, desa_names=desa_names, others=others)


def unit_fields(definitions, unit: str) -> list:
    """The desa fields ``unit`` enters (in the form's order)."""
    spec = spec_of(definitions["kecamatan"], FORM)
    return [f for f in spec.section(SECTION).fields if f.unit == unit and not f.computed]


def cell(code: str, name: str, form: str = FORM, section: str = SECTION) -> str:
    """The cell key of a per-desa (or per-kecamatan) value."""
    return f"{form}/{section}/{code}/{name}"


def shown(value: Any) -> str:
    """A value as a person types it: numbers the Indonesian way ("1.234")."""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    return format_decimal(value, locale="id")


def sums(rows: list[dict], names) -> dict[str, int]:
    """The column sums of desa rows, counted here (a yes counts one), not by the engine."""
    out = {}
    for name in names:
        total = 0
        for row in rows:
            v = row.get(name)
            total += int(v) if isinstance(v, (bool, int)) else 0
        out[name] = total
    return out


def number_of(text: str) -> int:
    """An Indonesian whole number as shown ("1.234") read back."""
    digits = text.strip().replace(".", "")
    assert re.fullmatch(r"-?\d+", digits), f"not a whole number: {text!r}"
    return int(digits)


# -- the server --------------------------------------------------------------------------------

# -- what every page is checked for ------------------------------------------------------------

def raw_ids(definition) -> re.Pattern:
    """The lifecycle's state and trigger ids that differ from the names people read: none
    of them may appear as a word in a page's visible text."""
    ids = {k for k, v in definition.lifecycle.states.items() if v.name != k}
    ids |= {k for k, v in definition.lifecycle.triggers.items() if v.name != k}
    return re.compile(r"\b(" + "|".join(sorted(map(re.escape, ids))) + r")\b")


class Pages:
    """Checks a page (no wider than its window, no raw id in its text) and keeps its
    screenshot as ``<n>-<name>-<width>.png`` in the artifacts directory. What is wrong is
    collected in `problems` (the test asserts it empty at its end, after the whole flow)."""

    def __init__(self, directory: Path, ids: re.Pattern):
        self.directory, self.ids, self.count = directory, ids, 0
        self.problems: list[str] = []

    def check(self, page, name: str) -> None:
        page.wait_for_load_state("load")
        width = page.evaluate("window.innerWidth")
        self.count += 1
        page.screenshot(path=str(self.directory / f"{self.count:02d}-{name}-{width}.png"),
                        full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > width:
            self.problems.append(f"{name} at {width} px is {wide} px wide: "
                                 + ", ".join(page.evaluate(STICKING_OUT)))
        text = page.evaluate("document.body.innerText")
        found = sorted(set(self.ids.findall(text)))
        if found:
            self.problems.append(f"{name} at {width} px shows the ids {found}")


# The elements that make a page wider than its window, outermost first (for the message).
STICKING_OUT = """() => {
  const out = [], limit = window.innerWidth + 1;
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.right <= limit || r.width === 0) continue;
    let a = el.parentElement;
    for (; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o !== "visible" && a.getBoundingClientRect().right <= limit) break;
    }
    if (a && getComputedStyle(el).position !== "absolute") continue;  // scrolls in its box
    out.push(el.tagName.toLowerCase() + (el.className ? "." + el.className : "")
             + " (right edge " + Math.round(r.right) + " px)");
    if (out.length >= 5) break;
  }
  return out;
}"""
