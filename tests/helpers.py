"""Shared helpers: the toy definition set and broken copies of it.

A test copies the toy set into ``tmp_path`` with the ``toy`` fixture, rewrites a
few lines of YAML text with ``toy.edit`` and runs the checker over the copy.
Expected positions are computed from the modified text (``toy.locate``), never
hard-coded.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.definitions import Finding, check

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
TOY = Path(__file__).resolve().parent / "fixtures" / "toy"
TOY_WORKFLOWS = TOY / "workflows"
FOUR_TIERS = Path(__file__).resolve().parent / "fixtures" / "four_tiers"


class ToyCopy:
    """A writable copy of the toy set (or of ``source``, another fixture set):
    ``root/workflows/*.yaml`` and ``root/forms/*.json``."""

    def __init__(self, root: Path, source: Path = TOY):
        self.root = root
        shutil.copytree(source, root)
        self.workflows = root / "workflows"
        self.forms = root / "forms"

    def path(self, name: str) -> Path:
        """``district`` -> .../workflows/district.yaml"""
        return self.workflows / (name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")

    def text(self, name: str) -> str:
        return self.path(name).read_text(encoding="utf-8")

    def write(self, name: str, text: str) -> Path:
        path = self.path(name)
        path.write_text(text, encoding="utf-8")
        return path

    def edit(self, name: str, old: str, new: str) -> str:
        """Replace the single occurrence of ``old`` in file ``name`` by ``new``."""
        text = self.text(name)
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {name}"
        text = text.replace(old, new)
        self.write(name, text)
        return text

    def locate(self, name: str, needle: str, *, occurrence: int | None = None) -> tuple[int, int]:
        """1-based (line, column) where ``needle`` starts in file ``name``.

        ``needle`` must be on one line; by default it must occur exactly once.
        """
        return locate(self.text(name), needle, occurrence=occurrence)

    def check(self) -> list[Finding]:
        return check([self.workflows])

    def file(self, name: str) -> str:
        """The file name findings carry for ``name``."""
        return str(self.path(name))


def locate(text: str, needle: str, *, occurrence: int | None = None) -> tuple[int, int]:
    """1-based (line, column) of ``needle``: the only occurrence, or the ``occurrence``-th."""
    assert "\n" not in needle
    hits = []
    for number, line in enumerate(text.splitlines(), start=1):
        start = line.find(needle)
        while start != -1:
            hits.append((number, start + 1))
            start = line.find(needle, start + 1)
    if occurrence is None:
        assert len(hits) == 1, f"{needle!r} found {len(hits)} times: {hits}"
        return hits[0]
    return hits[occurrence]


def only(findings: list[Finding], code: str, file: str | None = None) -> Finding:
    """The one finding with ``code`` (in ``file``); fails if there are none or several."""
    hits = [f for f in findings if f.code == code and (file is None or f.file == file)]
    assert len(hits) == 1, f"expected one {code} finding, got {[str(f) for f in findings]}"
    return hits[0]


def codes(findings: list[Finding], file: str | None = None) -> list[str]:
    return sorted(f.code for f in findings if file is None or f.file == file)


def track_cli_databases(monkeypatch) -> list:
    """Every `Database` the CLI opens from now on, for the test to dispose of."""
    import engine.store as store_package  # the CLI imports Database from here when it runs

    opened: list = []
    real = store_package.Database

    def tracked(*args, **kwargs):
        db = real(*args, **kwargs)
        opened.append(db)
        return db

    monkeypatch.setattr(store_package, "Database", tracked)
    return opened
