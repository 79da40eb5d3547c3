"""A stage's document as people print, sign and file it: HTML for the screen and PDF.

``render_html`` lays out one output form of a stage - every section with its fields'
labels and values written the Indonesian way (``Rp1.234.567``, ``1.234``, ``15 Januari
2027``, enum values by their labels), the verification and approval trail in the
region's own time (WIB, WITA, WIT) and the signature blocks of the lifecycle's chain
(Operator, Verifikator, and the approver: "Camat" for a kecamatan). A read-only field
whose value names another output form of the stage (the Berita Acara's "daftar rencana")
brings that form along as a lampiran. ``render_pdf`` prints it with WeasyPrint (A4, page
breaks between sections, table headers repeated on every page, wide tables on landscape
pages).

``document`` is what the CLI and the web ask for. A stage in its lifecycle's done state
is rendered once per approval and kept (an attachment blob and a ``rendered_documents``
row keyed by the stage's ``done_at``): asking again returns the same bytes, so an
approved document never changes; a stage reopened and approved again has a new
``done_at``, hence a new rendering. Any other stage is rendered fresh each time, marked
DRAF.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..definitions.dates import MONTHS_ID
from ..errors import InvalidForm, NotPermitted
from ..regions import ZONE_NAMES, tier_of, zone_of
from ..definitions.forms.spec import FIELDS, PER_REGION, Field, Section, spec_of

TEMPLATES = Path(__file__).parent / "templates"
HTML_TYPE = "text/html; charset=utf-8"
PDF_TYPE = "application/pdf"
FORMATS = {"html": HTML_TYPE, "pdf": PDF_TYPE}

MONTHS = MONTHS_ID  # the one list of month names
# A table wider than this many field columns is laid out on landscape pages, and one
# wider than MAX_COLUMNS is split (along its column groups where it has them) into
# several tables that repeat the row's key. A table of at most SHORT_TABLE rows shares
# a page with the short sections around it.
PORTRAIT_COLUMNS = 6
MAX_COLUMNS = 14
SHORT_TABLE = 10
EMPTY = Markup('<span class="empty">—</span>')


# -- Indonesian formats ------------------------------------------------------------------------

def format_count(value: int | float) -> str:
    """1234567 -> "1.234.567"."""
    return f"{int(value):,}".replace(",", ".")


def format_number(value: int | float, decimals: int = 2) -> str:
    """1234.5 -> "1.234,5" (at most ``decimals`` decimals, no trailing zeros)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = f"{float(value):,.{decimals}f}".rstrip("0").rstrip(".")
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def format_rupiah(value: int | float) -> str:
    """1234567 -> "Rp1.234.567"."""
    return ("-" if value < 0 else "") + "Rp" + format_count(abs(value))


def format_date(value: str | dt.date) -> str:
    """"2027-01-15" -> "15 Januari 2027" (text that is no date is shown as it is)."""
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def format_moment(moment: dt.datetime | str, zone: str) -> str:
    """An instant in the region's zone: "15 Januari 2027 pukul 10.30 WIB"."""
    from zoneinfo import ZoneInfo

    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    here = moment.astimezone(ZoneInfo(zone))
    return f"{format_date(here.date())} pukul {here:%H.%M} {ZONE_NAMES.get(zone, zone)}"


def format_size(n: int) -> str:
    if n >= 1024 * 1024:
        return format_number(n / (1024 * 1024), 1) + " MB"
    if n >= 1024:
        return format_count(round(n / 1024)) + " KB"
    return f"{n} bait"


_KEEP_UPPER = {"DKI", "DI", "NTB", "NTT", "II", "III", "IV", "VI", "VII", "VIII", "IX", "XI",
               "XII", "RI"}


def title_case(name: str) -> str:
    """"KEPULAUAN BANGKA BELITUNG" -> "Kepulauan Bangka Belitung"; mixed case is kept."""
    if not name.isupper():
        return name
    return re.sub(r"[^\W\d_]+(?:'[^\W\d_]+)?",
                  lambda m: m.group(0) if m.group(0) in _KEEP_UPPER
                  else m.group(0)[0] + m.group(0)[1:].lower(), name)


def region_title(code: str, name: str) -> str:
    """A region's name as a document writes it: "Kecamatan Merawang", "Kabupaten Bangka",
    "Kota Pangkal Pinang", "Provinsi Kepulauan Bangka Belitung", "Desa Jurung"."""
    name = title_case(name.strip())
    name = re.sub(r"^(Kab\.?|Kabupaten)\s+", "Kabupaten ", name, flags=re.IGNORECASE)
    tier = tier_of(code)
    if tier == 1:
        return name if re.match(r"(Provinsi|Daerah Istimewa)\b", name, re.I) else f"Provinsi {name}"
    if tier == 2:
        if re.match(r"(Kabupaten|Kota)\b", name):
            return name
        # Kemendagri numbers the kota of a provinsi from 71.
        return ("Kota " if code.rsplit(".", 1)[-1] >= "71" else "Kabupaten ") + name
    if tier == 3:
        return name if name.startswith(("Kecamatan ", "Distrik ")) else f"Kecamatan {name}"
    kind = "Kelurahan" if code.rsplit(".", 1)[-1].startswith("1") else "Desa"
    return name if name.startswith(("Desa ", "Kelurahan ")) else f"{kind} {name}"


def short_region_name(code: str, name: str) -> str:
    """The name alone, for "Merawang, 15 Februari 2027"."""
    return re.sub(r"^(Provinsi|Kabupaten|Kota|Kecamatan|Desa|Kelurahan)\s+", "",
                  region_title(code, name))


# -- values ------------------------------------------------------------------------------------

def _join(parts: Iterable[Any]) -> Markup:
    return Markup(", ").join(parts)


@dataclass
class Lookup:
    """What values refer to: regions by code, stages by id, forms shown as lampiran."""

    definition: Any
    names: Mapping[str, str] = dc_field(default_factory=dict)  # region code -> name
    lampiran: Mapping[str, int] = dc_field(default_factory=dict)  # form id -> its number

    def region(self, code: str) -> Markup:
        name = self.names.get(code)
        if name is None:
            return escape(code)
        return Markup('{} <span class="code">({})</span>').format(region_title(code, name), code)

    def stage(self, stage_id: str) -> str:
        try:
            return self.definition.stage(stage_id).name
        except (KeyError, LookupError, ValueError):
            return stage_id


def format_value(f: Field, value: Any, lookup: Lookup) -> Markup:
    """A field's value as a document shows it (escaped HTML)."""
    if value is None or value == "" or value == []:
        return EMPTY
    kind = f.kind
    try:
        if kind == "yes-no" and isinstance(value, bool):
            return escape("Ya" if value else "Tidak")
        if kind == "rupiah" and isinstance(value, (int, float)):
            return escape(format_rupiah(value))
        if kind == "year" and isinstance(value, (int, float)):
            return escape(str(int(value)))
        if kind in ("count", "integer") and isinstance(value, (int, float)):
            if f.ref and f.ref.startswith("row:"):
                return escape(f"baris {int(value)}")
            return escape(format_count(value))
        if kind == "number" and isinstance(value, (int, float)):
            return escape(format_number(value))
        if kind == "percent" and isinstance(value, (int, float)):
            return escape(format_number(value) + "%")
        if kind == "date":
            return escape(format_date(value))
        if kind == "enum":
            return escape(f.label_of(value))
        if kind == "multi" and isinstance(value, list):
            return _join(escape(f.label_of(v)) for v in value)
        if kind == "file" and isinstance(value, Mapping):
            return _file(value)
        if kind == "url" and isinstance(value, str):
            return Markup('<a href="{0}">{0}</a>').format(value) if re.match(r"https?://", value) \
                else escape(value)
        if isinstance(value, str) and f.ref in ("desa", "kelurahan", "child", "wilayah"):
            return lookup.region(value)
        if isinstance(value, str) and f.ref == "stage":
            return escape(lookup.stage(value))
        if isinstance(value, str) and f.computed and value in lookup.lampiran:
            title = spec_of(lookup.definition, value).title
            return Markup("Terlampir: {} (Lampiran {})").format(title, lookup.lampiran[value])
        if kind == "longtext" and isinstance(value, str):
            return Markup('<span class="longtext">{}</span>').format(value)
    except (TypeError, ValueError, OverflowError):
        pass
    if isinstance(value, bool):
        return escape("Ya" if value else "Tidak")
    if isinstance(value, (list, tuple)):
        return _join(escape(str(v)) for v in value)
    if isinstance(value, Mapping):
        return _join(Markup("{}: {}").format(k, v) for k, v in value.items())
    return escape(str(value))


def _file(value: Mapping[str, Any]) -> Markup:
    from .files import short_name

    name = value.get("nama") or "berkas"
    details = []
    if value.get("jenis"):
        details.append(short_name(str(value["jenis"])))
    if isinstance(value.get("ukuran"), int):
        details.append(format_size(value["ukuran"]))
    sha = str(value.get("sha256") or "")
    return Markup('<span class="file">{}</span> <span class="code">({}{}{})</span>').format(
        name, ", ".join(details), "; SHA-256 " if sha else "", sha[:12] + ("…" if sha else ""))


# -- the layout --------------------------------------------------------------------------------

@dataclass
class Table:
    key_title: str  # "No." or "Desa/Kelurahan"
    columns: list[Field]
    groups: list[tuple[str, int]] | None  # (x-group title, colspan) when the fields have groups
    rows: list[tuple[Markup, list[Markup]]]  # (key cell, value cells)
    part: str = ""  # "(bagian 1 dari 2)" when a table was split
    widths: list[str] = dc_field(default_factory=list)  # key column first, as CSS percentages


@dataclass
class SectionView:
    title: str
    description: str
    kind: str
    items: list[tuple[str, str | None, Markup]] = dc_field(default_factory=list)  # fields section
    tables: list[Table] = dc_field(default_factory=list)
    wide: bool = False
    empty: bool = False
    new_page: bool = False


def _even(columns: list[Field]) -> list[list[Field]]:
    count = math.ceil(len(columns) / MAX_COLUMNS)
    size = math.ceil(len(columns) / count)
    return [columns[i:i + size] for i in range(0, len(columns), size)]


def _chunks(columns: list[Field]) -> list[list[Field]]:
    """Columns cut into tables of at most MAX_COLUMNS, a column group kept whole where it
    fits in one."""
    if len(columns) <= MAX_COLUMNS:
        return [columns]
    runs: list[list[Field]] = []
    for f in columns:
        if runs and runs[-1][0].group == f.group:
            runs[-1].append(f)
        else:
            runs.append([f])
    out: list[list[Field]] = []
    for run in runs:
        for piece in (_even(run) if len(run) > MAX_COLUMNS else [run]):
            if out and len(out[-1]) + len(piece) <= MAX_COLUMNS:
                out[-1].extend(piece)
            else:
                out.append(list(piece))
    return out


def _weight(f: Field) -> float:
    """How wide a column is, relative to a number's."""
    kind = f.kind
    if kind in ("longtext", "url") or (kind == "text" and not f.ref and
                                       int(f.schema.get("maxLength", 500)) >= 100):
        return 2.0
    if kind in ("enum", "multi"):
        longest = max((len(label) for _, label in f.choices()), default=8)
        return min(2.0, max(1.0, longest / 16))
    if f.ref in ("desa", "kelurahan", "child", "wilayah") or kind == "file":
        return 1.9
    if kind == "date":
        return 1.2
    return 1.0


def _widths(key_weight: float, columns: list[Field]) -> list[str]:
    weights = [key_weight] + [_weight(f) for f in columns]
    if columns and columns[0].kind in ("text", "longtext") and not columns[0].ref:
        weights[1] *= 1.6  # what the row is about: "Rencana program/kegiatan"
    total = sum(weights)
    return [f"{100 * w / total:.2f}%" for w in weights]


def _groups(columns: list[Field]) -> list[tuple[str, int]] | None:
    if not any(f.group for f in columns):
        return None
    out: list[tuple[str, int]] = []
    for f in columns:
        title = f.group or ""
        if out and out[-1][0] == title:
            out[-1] = (title, out[-1][1] + 1)
        else:
            out.append((title, 1))
    return out


def _filled(f: Field, row: Mapping[str, Any], lookup: Lookup) -> Any:
    """A field's value; a read-only field fixed to a lampiran's form id shows it unfilled."""
    value = row.get(f.name)
    if value is None and f.computed and f.schema.get("const") in lookup.lampiran:
        return f.schema["const"]
    return value


def _compact(view: "SectionView") -> bool:
    return view.kind == FIELDS or (not view.wide and
                                   max((len(t.rows) for t in view.tables), default=0) <= SHORT_TABLE)


def _section_view(section: Section, value: Any, lookup: Lookup, row_kind: str,
                  rows_order: Sequence[str]) -> SectionView:
    view = SectionView(section.title, str(section.schema.get("description") or ""), section.kind)
    if section.kind == FIELDS:
        data = value if isinstance(value, Mapping) else {}
        view.items = [(f.title, f.code, format_value(f, _filled(f, data, lookup), lookup))
                      for f in section.fields]
        view.empty = not data
        return view
    if section.kind == PER_REGION:
        data = value if isinstance(value, Mapping) else {}
        codes = list(rows_order) + sorted(c for c in data if c not in set(rows_order))
        keyed = [(lookup.region(code), data.get(code) if isinstance(data.get(code), Mapping)
                  else {}) for code in codes]
        key_title = row_kind
    else:
        data = value if isinstance(value, list) else []
        keyed = [(escape(str(i)), row if isinstance(row, Mapping) else {})
                 for i, row in enumerate(data, 1)]
        key_title = "No."
    view.empty = not data
    columns = list(section.fields)
    view.wide = len(columns) > PORTRAIT_COLUMNS
    chunks = _chunks(columns)
    for number, chunk in enumerate(chunks, 1):
        rows = [(key, [format_value(f, row.get(f.name), lookup) for f in chunk])
                for key, row in keyed]
        part = f"(bagian {number} dari {len(chunks)})" if len(chunks) > 1 else ""
        view.tables.append(Table(key_title, chunk, _groups(chunk), rows, part,
                                 _widths(1.6 if section.kind == PER_REGION else 0.6, chunk)))
    return view


def _form_sections(definition: Any, form: str, doc: Mapping[str, Any], lookup: Lookup,
                   row_kind: str, rows_order: Sequence[str]) -> list[SectionView]:
    spec = spec_of(definition, form)
    views = [_section_view(s, doc.get(s.name), lookup, row_kind, rows_order)
             for s in spec.sections]
    # Page breaks between sections, but short sections (a Berita Acara's blocks of
    # fields, a table of a few rows) share a page; a change of orientation breaks anyway.
    for before, view in zip(views, views[1:]):
        view.new_page = not (_compact(before) and _compact(view))
    return views


def lampiran_of(definition: Any, form: str, outputs: Sequence[str],
                doc: Mapping[str, Any]) -> list[str]:
    """The other output forms a form's read-only fields name (its lampiran), in order."""
    found: list[str] = []
    spec = spec_of(definition, form)
    for section, f in spec.fields():
        candidates = [f.schema.get("const")]
        value = doc.get(section.name)
        if section.kind == FIELDS and isinstance(value, Mapping):
            candidates.append(value.get(f.name))
        for c in candidates:
            if (f.computed and isinstance(c, str) and c != form and c in outputs
                    and c not in found):
                found.append(c)
    return found


# -- trail and signatures ----------------------------------------------------------------------

def _role_names(definition: Any, refs: Iterable[str]) -> str:
    names = []
    for ref in refs:
        level, _, role = str(ref).rpartition(":")
        found = definition.roles.get(role) if not level else None
        names.append(found.name if found else str(ref))
    return ", ".join(dict.fromkeys(names))


def _trail_rows(definition: Any, stage: str, trail: Sequence[Mapping[str, Any]],
                zone: str) -> list[dict]:
    triggers = definition.triggers(stage)  # the roles named are the stage's own
    out = []
    for e in trail:
        spec = triggers.get(e.get("kind"))
        if spec is None or spec.by_system:
            continue  # saves, extensions, openings: not a verification step
        payload = e.get("payload") or {}
        role = e.get("role") or _role_names(definition, payload.get("roles") or
                                            [str(r) for r in spec.by])
        units = e.get("units") or payload.get("units") or []
        out.append({
            "kind": spec.id, "action": spec.name,
            "who": e.get("name") or e.get("actor") or "",
            "actor": e.get("actor") or "",
            "role": role + (f" ({', '.join(units)})" if units else ""),
            "when": format_moment(e["at"], zone) if e.get("at") else "",
            "at": e.get("at"),
            "reason": e.get("reason") or payload.get("reason") or "",
            "units": list(units),
        })
    return out


def signing_chain(definition: Any, stage: str) -> list[Any]:
    """The triggers from data entry to the done state, in order (submit, verify, approve):
    one signature block each, with the roles that fire them in ``stage``."""
    lc = definition.lifecycle
    triggers = definition.triggers(stage)
    start = next((t for t in triggers.values() if t.needs_valid_forms), None)
    if start is None:
        return [t for t in triggers.values() if t.dest == lc.done and not t.by_system][:1]
    chain, state, seen = [start], start.dest, {start.dest}
    while state != lc.done:
        step = next((t for t in triggers.values() if state in t.sources and not t.by_system
                     and not t.reason_required and t.dest not in seen), None)
        if step is None:
            break
        chain.append(step)
        seen.add(step.dest)
        state = step.dest
    return chain


@dataclass
class Signature:
    heading: str  # "Disusun oleh," / "Diperiksa oleh," / "Disetujui oleh,"
    role: str  # "Operator Kecamatan", "Verifikator Kecamatan", "Camat"
    signers: list[tuple[str, str, str]]  # (name, unit or "", "15 Januari 2027 pukul 10.30 WIB")


def _signatures(definition: Any, stage: str, rows: list[dict]) -> list[Signature]:
    """Who signed each step of the chain since the stage was last reopened; a step that a
    return undid (for the units it sent back) is unsigned again."""
    lc = definition.lifecycle
    chain = signing_chain(definition, stage)
    ids = [t.id for t in chain]
    reopens = {t.id for t in lc.triggers.values() if lc.done in t.sources}
    last_reopen = max((i for i, r in enumerate(rows) if r["kind"] in reopens), default=-1)
    latest: dict[str, dict[str, tuple[str, str]]] = {t: {} for t in ids}
    for r in rows[last_reopen + 1:]:
        if r["kind"] in latest:
            for unit in r["units"] or [""]:
                latest[r["kind"]][unit] = (r["who"], r["when"])
        else:  # sent back: its units' steps must be taken, and signed, again
            for signed in latest.values():
                for unit in r["units"] or list(signed):
                    signed.pop(unit, None)
    out = []
    for i, trigger in enumerate(chain):
        heading = ("Disetujui oleh," if i == len(chain) - 1 and i > 0
                   else "Disusun oleh," if i == 0 else "Diperiksa oleh,")
        own = [str(r) for r in trigger.by if r.level is None] or [str(r) for r in trigger.by]
        signed = latest[trigger.id]
        out.append(Signature(heading, _role_names(definition, own[:1]),
                             [(signed[u][0], u, signed[u][1]) for u in sorted(signed)]))
    return out


# -- rendering ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES)),
                       autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def document_title(definition: Any, form: str, region_code: str, region_name: str,
                   year: int) -> str:
    """"Berita Acara … — Kecamatan Merawang — Tahun 2027"."""
    return (f"{spec_of(definition, form).title} — {region_title(region_code, region_name)} — "
            f"Tahun {year}")


def render_html(definition: Any, task_row: Any, region_name: str, docs: Mapping[str, dict],
                trail: Sequence[Mapping[str, Any]], *, form: str,
                names: Mapping[str, str] | None = None, rows: Sequence[str] | None = None,
                row_kind: str | None = None, parents: Sequence[tuple[str, str]] = (),
                now: dt.datetime | None = None) -> str:
    """One output form of a stage as a printable page, in Bahasa Indonesia.

    ``task_row``: the stage (``region_code``, ``year``, ``stage``, ``state``, ``done_at``).
    ``docs``: {form: document} of the stage. ``trail``: the stage's events, as
    `engine.runtime.tasks.view` lists them (``kind``, ``actor``, ``at``, ``payload``) or
    as `trail_of` gives them (with the actor's ``name``); only the lifecycle's triggers
    are shown. ``names``: region code -> name, for the region references and the rows of
    a per-region section (``rows``, in order; ``row_kind`` titles their column).
    ``parents``: (code, name) of the regions above, nearest first.
    """
    lc = definition.lifecycle
    stage = definition.stage(task_row.stage)
    if form not in stage.outputs or form not in definition.forms:
        raise InvalidForm(f"formulir {form} bukan keluaran tahap {stage.id} "
                          f"(keluaran: {', '.join(stage.outputs)})", problems=[form])
    code, year = task_row.region_code, task_row.year
    zone = zone_of(code)
    draft = task_row.state != lc.done
    doc = docs.get(form) or {}
    lampiran = lampiran_of(definition, form, stage.outputs, doc)
    lookup = Lookup(definition, dict(names or {}), {f: i for i, f in enumerate(lampiran, 1)})
    lookup.names.setdefault(code, region_name)
    rows_order = list(rows) if rows is not None else sorted(
        c for c in lookup.names if c.startswith(code + ".") and tier_of(c) == tier_of(code) + 1)
    kind = row_kind or ("Desa/Kelurahan" if tier_of(code) == 3 else "Wilayah")
    spec = spec_of(definition, form)
    trail_rows = _trail_rows(definition, stage.id, trail, zone)
    signatures = _signatures(definition, stage.id, trail_rows)
    done_at = getattr(task_row, "done_at", None)
    signed_on = done_at if (not draft and done_at) else (now or dt.datetime.now(dt.timezone.utc))
    from zoneinfo import ZoneInfo

    place = f"{short_region_name(code, region_name)}, " \
            f"{format_date(signed_on.astimezone(ZoneInfo(zone)).date())}"
    context = {
        "title": document_title(definition, form, code, region_name, year),
        "form_title": spec.title,
        "region": region_title(code, region_name),
        "year": year,
        "place_line": ", ".join([region_title(code, region_name)]
                                + [region_title(c, n) for c, n in parents]),
        "stage_name": stage.name,
        "definition_title": definition.title,
        "draft": draft,
        "state_name": lc.states[task_row.state].name,
        "approved_when": format_moment(done_at, zone) if (not draft and done_at) else "",
        "sections": _form_sections(definition, form, doc, lookup, kind, rows_order),
        "lampiran": [{"number": i, "title": spec_of(definition, f).title, "form": f,
                      "sections": _form_sections(definition, f, docs.get(f) or {}, lookup, kind,
                                                 rows_order)}
                     for i, f in enumerate(lampiran, 1)],
        "trail": trail_rows,
        "signatures": signatures,
        "place": place,
        "footer": f"{definition.title} · {form} · {code} · {year}",
        "zone": ZONE_NAMES.get(zone, zone),
    }
    return _environment().get_template("document.html").render(**context)


def _no_fetcher():
    """A URL fetcher that fetches nothing: a document needs no outside resource, and the
    data typed into it must not make the server read a file or a URL."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # WeasyPrint < 66 takes a function
        def refuse(url, *args, **kwargs):
            raise ValueError(f"sumber luar tidak dimuat: {url[:80]}")
        return refuse

    class Refuse(URLFetcher):
        def fetch(self, url, headers=None):
            raise ValueError(f"sumber luar tidak dimuat: {url[:80]}")

    return Refuse()


def render_pdf(html: str) -> bytes:
    """The PDF of a page from `render_html` (WeasyPrint)."""
    import weasyprint

    return weasyprint.HTML(string=html, base_url=None, url_fetcher=_no_fetcher()).write_pdf()


# -- the stored document -----------------------------------------------------------------------

def trail_of(session: Session, definition: Any, task: Any) -> list[dict]:
    """The stage's lifecycle events, oldest first, with each actor's display name."""
    from ..store.models import Event, User

    triggers = {t.id for t in definition.lifecycle.triggers.values() if not t.by_system}
    events = session.execute(
        select(Event.id, Event.kind, Event.actor, Event.at, Event.from_state, Event.to_state,
               Event.payload)
        .where(Event.case_id == task.case_id, Event.task_id == task.id,
               Event.kind.in_(sorted(triggers)))
        .order_by(Event.id)).all()
    actors = {e.actor for e in events}
    names = dict(session.execute(select(User.username, User.display_name)
                                 .where(User.username.in_(sorted(actors)))).all()) if actors else {}
    return [{"id": e.id, "kind": e.kind, "actor": e.actor,
             "name": names.get(e.actor) or e.actor, "at": e.at, "from": e.from_state,
             "to": e.to_state, "payload": e.payload or {}} for e in events]


def default_form(definition: Any, stage_id: str) -> str:
    """The form a stage's document is, when none is named: its only output, or the one
    output that is no other output's lampiran (a Berita Acara and its daftar)."""
    outputs = [f for f in definition.stage(stage_id).outputs if f in definition.forms]
    if len(outputs) == 1:
        return outputs[0]
    attached = {f for o in outputs for f in lampiran_of(definition, o, outputs, {})}
    heads = [f for f in outputs if f not in attached]
    if len(heads) == 1 and attached:
        return heads[0]
    raise InvalidForm(f"tahap {stage_id} punya {len(outputs)} formulir; pilih salah satu: "
                      f"{', '.join(outputs)}", problems=outputs)


def document(session: Session, *, region: str, stage: str, year: int, form: str | None = None,
             fmt: str = "pdf", user: Any = None, files_dir: Any = None,
             now: dt.datetime | None = None) -> tuple[bytes, str, str]:
    """(bytes, media type, file name) of a stage's document, as ``user`` may see it
    (None: no check, the CLI without ``--as``).

    An approved stage is rendered once per approval and kept; later calls return the kept
    bytes. Other stages are rendered each time, marked DRAF.
    """
    from ..clock import utcnow
    from ..people import can_see
    from ..store.library import pinned
    from ..store.task_rows import find_task
    from ..store.models import Region, RenderedDocument
    from .entry import context_for, stage_documents
    from .files import _insert_ignore, keep_blob, read_blob, rendered_name

    if fmt not in FORMATS:
        raise InvalidForm(f"format '{fmt}' tidak dikenal; pilih html atau pdf", problems=[fmt])
    now = now or utcnow()
    task = find_task(session, region, stage, year)
    if user is not None and not can_see(user, region):
        raise NotPermitted(f"{user.username} tidak berhak melihat wilayah {region}",
                           region=region)
    definition = pinned(session, task.definition_hash)
    form = form or default_form(definition, stage)
    if form not in definition.stage(stage).outputs:
        raise InvalidForm(f"formulir {form} bukan keluaran tahap {stage} (keluaran: "
                          f"{', '.join(definition.stage(stage).outputs)})", problems=[form])
    media_type = FORMATS[fmt]
    filename = rendered_name(form, region, year, media_type)
    done = task.state == definition.lifecycle.done and task.done_at is not None
    if done:
        kept = _kept(session, task.id, form, media_type, task.done_at)
        if kept is not None:
            return read_blob(kept, files_dir=files_dir), media_type, filename

    ctx = context_for(session, definition, task)
    docs = stage_documents(session, definition, task)
    names = dict(ctx.rows)
    wanted = _referenced_regions(definition, stage, docs) - set(names) - {region}
    if wanted:
        names.update(session.execute(select(Region.code, Region.name)
                                     .where(Region.code.in_(sorted(wanted)))).all())
    from ..regions import ancestors

    up = ancestors(region)
    parents = [(c, n) for c, n in session.execute(
        select(Region.code, Region.name).where(Region.code.in_(up))).all()] if up else []
    parents.sort(key=lambda p: -tier_of(p[0]))
    html = render_html(definition, task, task.case.region.name, docs,
                       trail_of(session, definition, task), form=form, names=names,
                       rows=list(ctx.rows), row_kind=ctx.row_kind, parents=parents, now=now)
    content = html.encode("utf-8") if fmt == "html" else render_pdf(html)
    if not done:
        return content, media_type, filename
    digest = keep_blob(session, content, media_type, now=now, files_dir=files_dir)
    _insert_ignore(session, RenderedDocument.__table__,
                   {"task_id": task.id, "form": form, "sha256": digest, "media_type": media_type,
                    "rendered_at": now, "done_at": task.done_at},
                   ["task_id", "form", "media_type", "done_at"])
    kept = _kept(session, task.id, form, media_type, task.done_at)
    if kept != digest:  # another process rendered it first: theirs is the document
        return read_blob(kept, files_dir=files_dir), media_type, filename
    return content, media_type, filename


def _kept(session: Session, task_id: int, form: str, media_type: str,
          done_at: dt.datetime) -> str | None:
    from ..store.models import RenderedDocument

    return session.scalar(select(RenderedDocument.sha256).where(
        RenderedDocument.task_id == task_id, RenderedDocument.form == form,
        RenderedDocument.media_type == media_type, RenderedDocument.done_at == done_at))


def _referenced_regions(definition: Any, stage: str, docs: Mapping[str, dict]) -> set[str]:
    """Codes the documents' region references name (their names are looked up)."""
    out: set[str] = set()
    for form in definition.stage(stage).outputs:
        if form not in definition.forms:
            continue
        spec = spec_of(definition, form)
        doc = docs.get(form) or {}
        for section in spec.sections:
            refs = [f.name for f in section.fields
                    if f.ref in ("desa", "kelurahan", "child", "wilayah")]
            if not refs:
                continue
            value = doc.get(section.name)
            rows = (list(value.values()) if section.kind == PER_REGION and isinstance(value, Mapping)
                    else value if isinstance(value, list)
                    else [value] if isinstance(value, Mapping) else [])
            for row in rows:
                if isinstance(row, Mapping):
                    out.update(row[n] for n in refs if isinstance(row.get(n), str))
    return out
