"""Load a directory of definitions: parse, validate, check, then freeze.

``check`` reports every finding in every file; ``load`` returns the frozen
`DefinitionSet` or raises `DefinitionError` when there is any error.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Iterable

from .. import environment, safeyaml
from . import checks, schema, shipped, source
from .checks.references import forms_dir, rules_file, shown
from .findings import DefinitionError, Finding, Severity
from .model import Definition, DefinitionSet
from .source import SourceDoc

ENV_VAR = environment.WORKFLOWS
LOCAL = Path("workflows")  # relative, so findings show short paths
PACKAGED = shipped.WORKFLOWS


def default_directory() -> Path:
    """$AKSI_WORKFLOWS, else ./workflows, else the definitions shipped with aksi."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return LOCAL if LOCAL.is_dir() else PACKAGED


def definition_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into their *.yaml / *.yml files, sorted."""
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.suffix in (".yaml", ".yml"))
        else:
            files.append(p)
    return files


def _parse(paths: Iterable[Path]) -> tuple[list[SourceDoc], list[Finding], list[tuple]]:
    """(valid docs, findings, (level, tier) of files too broken to check further)."""
    paths = list(paths)
    files = definition_files(paths)
    findings: list[Finding] = []
    if not files:
        where = ", ".join(str(p) for p in paths) or "."
        findings.append(Finding(where, 1, 1, Severity.ERROR, "no-definitions",
                                "tidak ada berkas definisi (*.yaml) di sini"))
    valid: list[SourceDoc] = []
    broken: list[tuple] = []
    for path in files:
        if not path.exists():  # a directory (or file) named that is not there
            findings.append(Finding(str(path), 1, 1, Severity.ERROR, "missing-directory",
                                    "direktori definisi ini tidak ada: periksa --workflows "
                                    f"atau {ENV_VAR}"))
            continue
        doc, problems = source.read(path)
        findings += problems
        structural = list(schema.validate(doc)) if doc is not None else []
        findings += structural
        if doc is not None and not structural:
            valid.append(doc)
        else:
            data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
            level, tier = data.get("level"), data.get("tier")
            broken.append((level if isinstance(level, str) else None,
                           tier if isinstance(tier, int) else None))
    return valid, findings, broken


def check(paths: Iterable[Path]) -> list[Finding]:
    """Every finding (errors and warnings) for the given files or directories.

    A file named alone is checked together with the definitions beside it,
    since levels refer to each other; only its own findings are reported.
    """
    paths = [Path(p) for p in paths]
    wanted = {str(f) for f in definition_files(paths)}
    context = paths + sorted({p.parent for p in paths if p.is_file()} - set(paths))
    docs, findings, broken = _parse(_unique(definition_files(context)) if wanted else paths)
    findings += checks.run(checks.Corpus(docs, broken=broken))
    # The form files a wanted definition names are its own: their findings are reported too.
    wanted |= {str(shown(folder / name)) for d in docs if d.name in wanted
               for folder in [forms_dir(d)] for s in d.data["stages"]
               for form in s.get("outputs", []) for name in (f"{form}.json", f"{form}.rules.yaml")}
    return sorted(f for f in set(findings) if f.file in wanted or not wanted)


def _unique(files: list[Path]) -> list[Path]:
    seen: dict[Path, Path] = {}
    for f in files:
        seen.setdefault(f.resolve(), f)
    return list(seen.values())


def load(directory: Path | None = None) -> DefinitionSet:
    """The frozen definitions of ``directory``; raises `DefinitionError` on any error."""
    docs, findings, broken = _parse([directory or default_directory()])
    findings += checks.run(checks.Corpus(docs, broken=broken))
    if any(f.is_error for f in findings):
        raise DefinitionError(findings)
    return DefinitionSet({d.data["level"]: _freeze(d, checks.Corpus(docs)) for d in docs})


def inspect(directory: Path | None = None) -> tuple[list[Finding], DefinitionSet | None]:
    """What `check` finds in ``directory`` and, when none of it is an error, what `load`
    returns, from one pass over the files (the web's definitions page shows both)."""
    docs, findings, broken = _parse([directory or default_directory()])
    findings = sorted(set(findings) | set(checks.run(checks.Corpus(docs, broken=broken))))
    if any(f.is_error for f in findings):
        return findings, None
    return findings, DefinitionSet({d.data["level"]: _freeze(d, checks.Corpus(docs)) for d in docs})


def _freeze(doc: SourceDoc, corpus: checks.Corpus) -> Definition:
    """Fill in what the file leaves to defaults, attach its forms, and freeze it.

    The defaults are written into the snapshot so that a running case never
    depends on another file: a waits_for without `state` gets the child
    level's done state, a stage without reminders gets the level's defaults.
    """
    data = copy.deepcopy(doc.data)
    defaults = data.get("defaults", {})
    child = corpus.child(doc)
    for stage in data["stages"]:
        for kind in ("reminders", "escalations"):
            stage.setdefault(kind, copy.deepcopy(defaults.get(kind, [])))
        wf = stage.get("waits_for")
        if wf is not None:
            wf.setdefault("state", child.data["lifecycle"]["done"])
            wf.setdefault("quorum", "all")
    folder = forms_dir(doc)
    names = [form for stage in data["stages"] for form in stage.get("outputs", [])]
    forms = {form: json.loads((folder / f"{form}.json").read_text(encoding="utf-8"))
             for form in names}
    rules = {form: safeyaml.load(safeyaml.read_text(path))
             for form in names if (path := rules_file(folder, form)).is_file()}
    return Definition.from_data(data, forms, rules)
