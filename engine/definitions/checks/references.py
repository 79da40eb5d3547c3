"""Names that must point at something: stages, groups, roles, levels, forms."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Iterator

import jsonschema
import jsonschema_rs

from ..findings import Finding
from ..model import SYSTEM, RoleRef
from ..source import SourceDoc
from .corpus import Corpus, suggest

DEFAULT_FORMS_DIR = "../forms"


def check(corpus: Corpus) -> Iterator[Finding]:
    yield from _levels(corpus)
    for doc in corpus:
        yield from _stage_ids(doc)
        yield from _groups(doc)
        yield from _roles(corpus, doc)
        yield from _waits_for(corpus, doc)
        yield from _forms(doc)


def _levels(corpus: Corpus) -> Iterator[Finding]:
    seen_level: dict[str, SourceDoc] = {}
    seen_tier: dict[int, SourceDoc] = {}
    for doc in corpus:
        level, tier = doc.data["level"], doc.data["tier"]
        if level in seen_level:
            yield doc.error(("level",), "duplicate-id",
                            f"tingkat '{level}' sudah didefinisikan di {seen_level[level].name}")
            continue
        seen_level[level] = doc
        if tier in seen_tier:
            yield doc.error(("tier",), "duplicate-id",
                            f"tier {tier} sudah dipakai tingkat '{seen_tier[tier].data['level']}' "
                            f"({seen_tier[tier].name}); setiap tingkat wilayah hanya boleh "
                            "punya satu definisi")
        else:
            seen_tier[tier] = doc


def _stage_ids(doc: SourceDoc) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for i, stage in Corpus.stages(doc):
        sid = stage["id"]
        if sid in first:
            line = doc.position(("stages", first[sid], "id"))[0]
            yield doc.error(("stages", i, "id"), "duplicate-id",
                            f"id tahap '{sid}' sudah dipakai di baris {line}")
        else:
            first[sid] = i
    ids = first
    for i, stage in Corpus.stages(doc):
        for j, dep in enumerate(stage.get("after", [])):
            if dep not in ids:
                yield doc.error(("stages", i, "after", j), "unknown-stage",
                                f"tahap '{stage['id']}' menunggu tahap '{dep}' yang tidak ada "
                                f"di tingkat {doc.data['level']}{suggest(dep, ids)}")


def _groups(doc: SourceDoc) -> Iterator[Finding]:
    groups = doc.data.get("groups")
    if groups is None:
        return
    for i, stage in Corpus.stages(doc):
        if stage["group"] not in groups:
            yield doc.error(("stages", i, "group"), "unknown-group",
                            f"kelompok '{stage['group']}' tidak dideklarasikan di 'groups'"
                            f"{suggest(stage['group'], groups)}")


def _role_refs(doc: SourceDoc) -> Iterator[tuple[tuple, str, bool]]:
    """(path, reference text, may be 'system') for every role reference in ``doc``."""
    for tid, trig in doc.data["lifecycle"]["triggers"].items():
        by = trig["by"]
        if isinstance(by, str):
            yield ("lifecycle", "triggers", tid, "by"), by, True
        else:
            for j, ref in enumerate(by):
                yield ("lifecycle", "triggers", tid, "by", j), ref, True
    notices = [(("defaults",), doc.data.get("defaults", {}))]
    notices += [(("stages", i), s) for i, s in Corpus.stages(doc)]
    for base, holder in notices:
        for kind in ("reminders", "escalations"):
            for j, item in enumerate(holder.get(kind, [])):
                for k, ref in enumerate(item["to"]):
                    yield base + (kind, j, "to", k), ref, False


def _roles(corpus: Corpus, doc: SourceDoc) -> Iterator[Finding]:
    for path, text, system_ok in _role_refs(doc):
        yield from role_ref(corpus, doc, path, text, system_ok=system_ok)


def role_ref(corpus: Corpus, doc: SourceDoc, path: tuple, text: str, *,
             system_ok: bool) -> Iterator[Finding]:
    """Findings for one role reference (``approver``, ``parent:supervisor``) at ``path``."""
    ref = RoleRef.parse(text)
    if ref.level is None and ref.role == SYSTEM:
        if not system_ok:
            yield doc.error(path, "unknown-role",
                            "'system' hanya boleh menjalankan pemicu, bukan menerima pesan")
        return
    target = corpus.level_of(doc, ref)
    if target is None and (corpus.is_broken(tier=doc.data["tier"] - 1)
                           if ref.level == "parent" else corpus.is_broken(level=ref.level)):
        return
    if target is None:
        what = ("tingkat induk (tier lebih kecil satu)" if ref.level == "parent"
                else f"tingkat '{ref.level}'")
        yield doc.error(path, "unknown-level",
                        f"'{text}': {what} tidak ada di definisi yang dimuat"
                        f"{suggest(ref.level or '', corpus.by_level)}")
        return
    roles = target.data["roles"]
    if ref.role not in roles:
        where = "" if target is doc else f" tingkat '{target.data['level']}'"
        yield doc.error(path, "unknown-role",
                        f"peran '{ref.role}' tidak ada di 'roles'{where}"
                        f"{suggest(ref.role, roles)}")


def _waits_for(corpus: Corpus, doc: SourceDoc) -> Iterator[Finding]:
    child = corpus.child(doc)
    for i, stage in Corpus.stages(doc):
        wf = stage.get("waits_for")
        if wf is None:
            continue
        base = ("stages", i, "waits_for")
        target = corpus.by_level.get(wf["level"])
        if target is None and corpus.is_broken(level=wf["level"]):
            continue
        if target is None:
            yield doc.error(base + ("level",), "unknown-level",
                            f"tingkat '{wf['level']}' tidak ada di definisi yang dimuat"
                            f"{suggest(wf['level'], corpus.by_level)}")
            continue
        if target is not child:
            expected = (f"tingkat anak dari '{doc.data['level']}' adalah '{child.data['level']}'"
                        if child else f"'{doc.data['level']}' tidak punya tingkat anak yang dimuat")
            yield doc.error(base + ("level",), "not-child-level",
                            f"waits_for hanya boleh menunggu tingkat tepat di bawahnya; "
                            f"{expected}, bukan '{wf['level']}'")
            continue
        child_ids = Corpus.stage_ids(target)
        if wf["stage"] not in child_ids:
            yield doc.error(base + ("stage",), "unknown-stage",
                            f"tingkat '{wf['level']}' tidak punya tahap '{wf['stage']}'"
                            f"{suggest(wf['stage'], child_ids)}")
        states = target.data["lifecycle"]["states"]
        if "state" in wf and wf["state"] not in states:
            yield doc.error(base + ("state",), "unknown-state",
                            f"siklus tingkat '{wf['level']}' tidak punya status '{wf['state']}'"
                            f"{suggest(wf['state'], states)}")


def forms_dir(doc: SourceDoc) -> Path:
    return (doc.path.parent / doc.data.get("forms", DEFAULT_FORMS_DIR)).resolve()


def shown(path: Path) -> Path:
    """``path`` as findings name it: relative to the working directory when inside it."""
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def rules_file(folder: Path, form: str) -> Path:
    """The rules file beside a form schema (it may not exist)."""
    return folder / f"{form}.rules.yaml"


def _forms(doc: SourceDoc) -> Iterator[Finding]:
    folder = forms_dir(doc)
    checked: dict[str, str | None] = {}
    for i, stage in Corpus.stages(doc):
        for j, form in enumerate(stage.get("outputs", [])):
            if form not in checked:
                checked[form] = form_problem(folder / f"{form}.json")
            problem = checked[form]
            if problem is None:
                continue
            code = "missing-form" if problem == "missing" else "bad-form"
            message = (f"skema formulir '{form}' tidak ditemukan: {folder / form}.json"
                       if code == "missing-form" else
                       f"skema formulir '{form}' tidak valid: {problem}")
            yield doc.error(("stages", i, "outputs", j), code, message)


def form_problem(path: Path) -> str | None:
    """What is wrong with a form's JSON Schema file: "missing", not JSON, or not a valid
    JSON Schema 2020-12 (the first line of the reason); None when nothing is.

    Checking a schema against the metaschema is most of what loading the definitions
    costs, and both this module and checks/forms.py need it for every form: it runs
    once per text (the cache is keyed by the file's content, never stale)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return "missing"
    return _schema_problem(text)


@functools.lru_cache(maxsize=128)
def _schema_problem(text: str) -> str | None:
    try:
        schema = json.loads(text)
    except ValueError as exc:
        return str(exc).splitlines()[0]
    # jsonschema-rs (Rust) says whether the schema is valid in a few hundredths of
    # jsonschema's time; only a schema it refuses is checked by jsonschema, whose reason
    # is the one reported, and which has the last word.
    if isinstance(schema, dict) and jsonschema_rs.meta.is_valid(schema):
        return None
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return str(exc).splitlines()[0]
    return None
