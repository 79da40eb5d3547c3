"""Read a YAML file into plain data while remembering where every node stood.

PyYAML's ``safe_load`` forgets positions, so we compose the node tree and build
the values ourselves: each value and each mapping key gets its (line, column),
keyed by its path from the root (``("stages", 3, "due")``). Duplicate keys,
which PyYAML silently overwrites, are reported instead. The text is read and
composed by `engine.safeyaml`, whose bounds (size, nesting, alias expansion)
keep this walk, which visits an aliased node once per alias, small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import safeyaml
from .findings import Finding, Severity

Path_ = tuple[str | int, ...]
Position = tuple[int, int]


@dataclass
class SourceDoc:
    """A parsed definition file: its data and the position of each node."""

    path: Path
    data: Any
    values: dict[Path_, Position] = field(default_factory=dict)
    keys: dict[Path_, Position] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.path)

    def position(self, path: Path_, *, key: bool = False) -> Position:
        """Where the node at ``path`` is; the nearest existing ancestor otherwise."""
        table = self.keys if key else self.values
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), (1, 1))

    def finding(
        self, path: Path_, severity: Severity, code: str, message: str, *, key: bool = False
    ) -> Finding:
        line, column = self.position(path, key=key)
        return Finding(self.name, line, column, severity, code, message)

    def error(self, path: Path_, code: str, message: str, *, key: bool = False) -> Finding:
        return self.finding(path, Severity.ERROR, code, message, key=key)

    def warning(self, path: Path_, code: str, message: str, *, key: bool = False) -> Finding:
        return self.finding(path, Severity.WARNING, code, message, key=key)


def _pos(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, doc: SourceDoc, findings: list[Finding]):
        self.doc = doc
        self.findings = findings
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.doc.values[path] = _pos(node)
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)  # honour "<<" merge keys
            result: dict = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int)):
                    key = str(key)
                child = path + (key,)
                if key in result:
                    line, col = _pos(key_node)
                    first = self.doc.keys[child]
                    self.findings.append(Finding(
                        self.doc.name, line, col, Severity.ERROR, "duplicate-key",
                        f"kunci '{key}' ditulis dua kali dalam pemetaan yang sama "
                        f"(pertama di baris {first[0]}); yang kedua diabaikan",
                    ))
                    continue
                self.doc.keys[child] = _pos(key_node)
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.constructor.construct_object(node, deep=True)


def read(path: Path) -> tuple[SourceDoc | None, list[Finding]]:
    """Parse one file. Returns (None, findings) when it is not valid YAML."""
    findings: list[Finding] = []
    try:
        text = safeyaml.read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Finding(str(path), 1, 1, Severity.ERROR, "yaml-syntax",
                              f"berkas tidak dapat dibaca: {exc}")]
    doc = SourceDoc(path=path, data=None, values={(): (1, 1)})
    try:
        root = safeyaml.compose(text)
        if root is not None:
            doc.data = _Builder(doc, findings).build(root, ())
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_finding(path, exc)]
    return doc, findings


def _syntax_finding(path: Path, exc: yaml.MarkedYAMLError) -> Finding:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    if isinstance(exc, safeyaml.LimitExceeded):
        return Finding(str(path), line, col, Severity.ERROR, "yaml-limit", exc.problem)
    parts = [p for p in (exc.context, exc.problem) if p]
    reason = ", ".join(parts) or "YAML tidak valid"
    return Finding(str(path), line, col, Severity.ERROR, "yaml-syntax",
                   f"YAML tidak valid: {reason}")
