"""What a verifikator or approver needs beside the form: what changed since the last
submission, the warnings, and returning a part with a reason (and the cells concerned);
what the operator needs after a return: why, who, when and which cells.

`review_panel` gives the stage page's ``tasks/_review.html`` its context; it returns
None when there is nothing to show. Its ``marks`` (cell key -> [{"kind", "note",
"before"}]) are drawn on the form's cells by the form page: a changed cell's note says
when ("pada pengiriman ini", "sejak pengiriman terakhir") and ``before`` is its previous
value as text, formatted as the page shows values; a returned cell's note is short (the
reason is in the banner, once).

The blueprint's one route, ``POST /tugas/<year>/<region>/<stage>/kembalikan``, sends a
stage or part back with the marked cells (`engine.forms.changes.compose_cells` and
`send_back`, as ``aksi task act ... --mark`` and the API's ``marks`` do): CSRF
checked by the app, the region checked against the user's scope, the version the user
saw passed on (a stale one is a conflict and changes nothing). Cells are picked without
script: checkboxes for the cells the page suggests (warnings, changes), and a list of
desa/rows times a list of fields for any other.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from babel.numbers import format_decimal
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..errors import Conflict, InvalidForm, NotFound, Refused
from ..forms import changes
from ..forms.entry import unit_for
from ..definitions.forms.spec import PER_REGION, ROWS, Field, spec_of
from ..forms.validate import region_label
from ..people import acting_roles, can_see
from ..runtime import find_task
from ..runtime.reasons import REASON_MAX
from ..runtime.send_back import send_back as send_back_marked
from ..store.library import pinned
from .auth import require_sign_in
from .form_page import kept_problems, stage_context, stage_stamp
from .page_cache import page_cache
from .store import database

bp = Blueprint("review", __name__)
require_sign_in(bp)

SHOWN_CHANGES = 200  # per part; the marks on the form carry every one
SUGGESTED = 60
SHOWN_WARNINGS = 100
EMPTY = "(kosong)"


# -- values and places as people read them -----------------------------------------------------

def shown_value(f: Field | None, value: Any) -> str:
    """A cell's value as text: numbers the Indonesian way, choices by label, files by name."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    if isinstance(value, (int, float)):
        text = format_decimal(value, locale="id")
        return f"Rp {text}" if f is not None and f.kind == "rupiah" else text
    if isinstance(value, Mapping):  # a file
        return str(value.get("name") or value.get("sha256", "berkas"))[:80]
    if isinstance(value, list):
        return ", ".join(f.label_of(v) if f is not None else str(v) for v in value)[:160]
    text = f.label_of(value) if f is not None else str(value)
    return text if len(text) <= 80 else text[:79] + "…"


class _Places:
    """Where a cell is and what it is called: desa name, row number, section and field."""

    def __init__(self, definition: Any, rows: Mapping[str, str], row_kind: str):
        self.definition, self.rows, self.row_kind = definition, rows, row_kind

    def field(self, key: str) -> tuple[Any, Any, Field | None]:
        form, section_name, _row, name = changes.split_cell(key) or (None, None, None, None)
        if form not in self.definition.forms:
            return None, None, None
        spec = spec_of(self.definition, form)
        section = spec.section(section_name)
        return spec, section, section.field(name) if section else None

    def describe(self, key: str) -> dict:
        parts = changes.split_cell(key)
        spec, section, f = self.field(key)
        row = parts[2] if parts else ""
        if section is not None and section.kind == PER_REGION:
            where = region_label(row, self.rows.get(row, row), self.row_kind)
        elif section is not None and section.kind == ROWS:
            where = f"{section.title}, baris {row}"
        else:
            where = section.title if section is not None else key
        return {"key": key, "where": where, "label": f.title if f else key,
                "form": spec.title if spec else "", "field": f}


# -- the panel ---------------------------------------------------------------------------------

def _refs(definition: Any, stage: str, *, entry: bool) -> tuple:
    return tuple(ref for t in definition.triggers(stage).values()
                 if not t.by_system and changes.is_submission(t) == entry for ref in t.by)


def _problem_cells(problem: Any) -> list[str]:
    if not problem.section:
        return []
    return [changes.cell_key(problem.form, problem.section, problem.row, name)
            for name in problem.fields]


def _add_mark(marks: dict, key: str, kind: str, note: str, before: str | None) -> None:
    marks.setdefault(key, []).append({"kind": kind, "note": note, "before": before})


_UNREAD = object()


def review_panel(session: Session, *, task: Any, definition: Any, actor: Any,
                 returned: Any = _UNREAD) -> dict | None:
    """``returned``: `changes.returned_info` of the stage when the caller has it read."""
    stage = definition.stage(task.stage)
    lc = definition.lifecycle
    if returned is _UNREAD:
        returned = changes.returned_info(session, definition, task)
    if not stage.outputs and returned is None:
        return None
    level, region = task.level, task.region_code
    reviewer = bool(acting_roles(actor, _refs(definition, task.stage, entry=False), level, region))
    operator = bool(acting_roles(actor, _refs(definition, task.stage, entry=True), level, region))
    ctx = stage_context(session, definition, task)
    places = _Places(definition, ctx.rows, ctx.row_kind)
    reviews = changes.reviews_of(session, task.id, data=False)
    stored: dict[str, tuple] = {}

    def data_of(unit: str) -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
        """(a part's data, its baseline), read when first needed: most views need none."""
        if unit not in stored:
            stored[unit] = changes.part_data(session, task.id, unit)
        return stored[unit]

    editable = changes.editable_states(definition)
    marks: dict[str, list[dict]] = {}

    def state_of(r: changes.PartReview) -> str:
        return r.state if stage.parts and r.state else task.state

    def unit_name(unit: str) -> str | None:
        return unit or None

    # What changed: per part, the last submission against the one before (while it is
    # judged), or the operator's edits since the last submission (while it is open again).
    changed = []
    for unit, r in reviews.items():
        state = state_of(r)
        if state == lc.done or state == lc.initial:
            continue
        if state in editable:
            if not r.baseline:
                continue
            data, submitted = data_of(unit)
            cells = [c.as_list() for c in changes.diff(definition, submitted or {}, data)]
            if not cells and r.returned is None:
                continue
            entry = {"unit": unit_name(unit), "live": True, "first": False,
                     "at": None, "by": None, "since": (r.changes or {}).get("at")}
            note = "sejak pengiriman terakhir"
        else:
            if not r.changes:
                continue
            cells = r.changes.get("cells")
            entry = {"unit": unit_name(unit), "live": False, "first": cells is None,
                     "at": r.changes.get("at"), "by": r.changes.get("by"),
                     "since": r.changes.get("since")}
            cells = cells or []
            note = "pada pengiriman ini"
        rows = []
        for key, before, after in cells:
            where = places.describe(key)
            rows.append({**where, "before": shown_value(where["field"], before),
                         "after": shown_value(where["field"], after)})
            _add_mark(marks, key, "changed", note, rows[-1]["before"])
        answered = (r.changes or {}).get("answered") if not entry["live"] else None
        if answered:
            for key in answered.get("cells") or []:
                _add_mark(marks, key, "returned", "ditandai saat dikembalikan", None)
        if entry["first"] and not reviewer:
            continue  # nothing to compare: of use only to those who judge it
        changed.append({**entry, "count": len(rows), "rows": rows[:SHOWN_CHANGES],
                        "more": max(0, len(rows) - SHOWN_CHANGES), "answered": answered})
    firsts = [c for c in changed if c["first"]]
    changed = [c for c in changed if not c["first"]]

    # The return waiting for an answer: the operators' banner.
    banner = None
    if returned is not None:
        banner_parts = []
        for p in returned["parts"]:
            r = reviews.get(p["unit"] or changes.WHOLE)
            submitted_cells = (changes.cells_of(definition, data_of(r.unit)[1] or {})
                               if r and r.baseline else {})
            cells = []
            for key in p["cells"]:
                where = places.describe(key)
                before = shown_value(where["field"], submitted_cells.get(key))
                cells.append({**where, "before": before})
                _add_mark(marks, key, "returned", "perlu diperiksa (lihat alasan di atas)", None)
            banner_parts.append({**p, "cells": cells})
        banner = {**returned, "parts": banner_parts}

    # Warnings of the stage, for those who judge it (not while it is only being filled):
    # the form page's check of the stored documents (with last year's jumps), shared.
    warnings = []
    judged = task.state not in editable and task.state != lc.initial or any(
        r.state and r.state not in editable for r in reviews.values())
    if reviewer and stage.outputs and judged:  # once something is submitted
        for problem in kept_problems(session, definition, task):
            if problem.is_error:
                continue
            warnings.append({"message": problem.message, "cells": _problem_cells(problem)})
    shown_warnings = warnings[:SHOWN_WARNINGS]

    form = _return_form(session, task=task, definition=definition, actor=actor, places=places,
                        data_of=data_of, reviews=reviews, suggested=[row["key"] for part in changed
                                                    for row in part["rows"]]
                        + [c for w in warnings for c in w["cells"]])
    if not (changed or firsts or banner or warnings or form):
        return None
    return {"returned": banner, "changes": changed, "firsts": firsts, "warnings": shown_warnings,
            "more_warnings": len(warnings) - len(shown_warnings), "form": form,
            "marks": marks, "reviewer": reviewer, "operator": operator,
            "stage_name": stage.name}


def _most_rows(session: Session, task: Any, definition: Any,
               reviews: Mapping[str, changes.PartReview], data_of: Any) -> dict[str, int]:
    """"FORM/SECTION" -> the most rows any part holds in that repeating section: kept under
    the stage's data stamp, so a reviewer's page does not read every part's data again."""
    sections = [(form, s.name) for form in definition.stage(task.stage).outputs
                if form in definition.forms
                for s in spec_of(definition, form).sections if s.kind == ROWS]
    if not sections:
        return {}

    def compute() -> tuple[dict[str, int], int]:
        most: dict[str, int] = {}
        for unit in reviews:
            data = data_of(unit)[0]
            for form, name in sections:
                rows = (data.get(form) or {}).get(name) or []
                most[f"{form}/{name}"] = max(most.get(f"{form}/{name}", 0), len(rows))
        return most, 128 * len(most) + 128
    return page_cache().get_or_compute(("most rows", stage_stamp(session, task)), compute)


def _return_form(session: Session, *, task: Any, definition: Any, actor: Any, places: _Places,
                 reviews: Mapping[str, changes.PartReview], data_of: Any,
                 suggested: Iterable[str]) -> dict | None:
    """The send-backs the viewer may fire now, with the units and cells to choose from.
    A send-back from the done state (reopening an approved stage) is the actions panel's."""
    stage = definition.stage(task.stage)
    lc = definition.lifecycle
    triggers, units = [], set()
    whole = False
    for t in changes.send_back_triggers(definition, task.stage):
        if lc.done in t.sources or not acting_roles(actor, t.by, task.level, task.region_code):
            continue
        if stage.parts and lc.acts_on_part(t.id):
            states = {u: (reviews[u].state if u in reviews else None) for u in stage.parts}
            open_units = [u for u in stage.parts if states[u] in t.sources]
            own = unit_for(actor, t.by, task.level, task.region_code)
            if own:
                open_units = [u for u in open_units if u == own]
            if not open_units:
                continue
            all_parts = (own is None and t.id in lc.parts_any
                         and len(open_units) == len(stage.parts))
            triggers.append({"trigger": t.id, "name": t.name, "units": open_units,
                             "all": all_parts, "own": own})
            units.update(open_units)
        elif task.state in t.sources:
            triggers.append({"trigger": t.id, "name": t.name, "units": [], "all": False,
                             "own": None})
            whole = True
    if not triggers:
        return None
    if stage.parts and not whole:
        owns = units
    else:
        owns = None  # every field of the document
    fields, regions, repeated = [], False, 0
    most = _most_rows(session, task, definition, reviews, data_of)
    for form in stage.outputs:
        if form not in definition.forms:
            continue
        spec = spec_of(definition, form)
        for section in spec.sections:
            chosen = [f for f in section.fields if not f.computed
                      and (owns is None or f.unit in owns)]
            if not chosen:
                continue
            if section.kind == PER_REGION:
                regions = True
            if section.kind == ROWS:
                repeated = max(repeated, most.get(f"{form}/{section.name}", 0))
            fields.append({"group": f"{spec.title} · {section.title}", "kind": section.kind,
                           "options": [{"value": f"{form}/{section.name}/{f.name}",
                                        "label": f.title + (f" ({f.unit})" if stage.parts and f.unit
                                                            else "")} for f in chosen]})
    rows = [{"value": code, "label": region_label(code, name, places.row_kind)}
            for code, name in places.rows.items()] if regions else []
    rows += [{"value": f"#{n}", "label": f"Baris ke-{n} (tabel berulang)"}
             for n in range(1, repeated + 1)]
    allowed = {o["value"] for g in fields for o in g["options"]}
    picks = []
    for key in dict.fromkeys(suggested):
        parts = changes.split_cell(key)
        if parts and f"{parts[0]}/{parts[1]}/{parts[3]}" in allowed:
            picks.append(places.describe(key))
        if len(picks) >= SUGGESTED:
            break
    return {"action": url_for("review.send_back", year=task.year, region=task.region_code,
                              stage=task.stage),
            "version": task.version, "triggers": triggers, "fields": fields, "rows": rows,
            "suggested": picks, "reason_max": REASON_MAX}


# -- sending back ------------------------------------------------------------------------------

@bp.post("/tugas/<int:year>/<region>/<stage>/kembalikan")
def send_back(year: int, region: str, stage: str):
    if not can_see(current_user.actor, region):
        abort(403)
    back = redirect(url_for("tasks.detail", year=year, region=region, stage=stage) + "#tinjauan")
    form = request.form
    version, trigger = form.get("version", ""), form.get("trigger", "")
    reason = (form.get("reason") or "").strip()
    if not (version.isascii() and version.isdigit() and trigger):
        flash("Formulir tidak lengkap; muat ulang halaman lalu coba lagi.", "error")
        return back
    if not reason:
        flash("Tulis alasan pengembalian: operator membacanya di halaman tahap.", "error")
        return back
    if len(reason) > REASON_MAX:
        flash(f"Alasan terlalu panjang (paling banyak {REASON_MAX} huruf); tidak ada yang "
              "diubah.", "error")
        return back
    try:
        with database().session() as session:
            task = find_task(session, region, stage, year)
            definition = pinned(session, task.definition_hash)
            keys, problems = changes.compose_cells(definition, form.getlist("cell"),
                                           form.getlist("baris"), form.getlist("isian"))
            if problems:
                flash("Sel yang ditandai belum lengkap; tidak ada yang diubah: "
                      + "; ".join(problems), "error")
                return back
            send_back_marked(session, task=task, trigger=trigger, user=current_user.actor,
                             reason=reason, cells=keys, unit=form.get("unit") or None,
                             expected_version=int(version), now=utcnow())
            name = definition.lifecycle.triggers[trigger].name
    except NotFound:
        abort(404)
    except InvalidForm as exc:
        flash(exc.message + (": " + "; ".join(exc.problems) if exc.problems else ""), "error")
    except (Refused, Conflict) as exc:
        flash(exc.message, "error")
    else:
        flash(f"Berhasil: '{name}' dengan alasan tercatat"
              + (f"; {len(keys)} sel ditandai" if keys else ""), "success")
    return back
