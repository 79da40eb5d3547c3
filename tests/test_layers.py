"""The packages import each other in one direction: no package cycle (read from the
source's import statements, lazy imports inside functions included)."""

from __future__ import annotations

import ast
import graphlib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in [*ROOT.glob("engine/**/*.py"), *ROOT.glob("webhooks/*.py")]:
        rel = path.relative_to(ROOT).with_suffix("").parts
        if "migrations" in rel:
            continue
        me = "webhooks" if rel[0] == "webhooks" else f"engine.{rel[1]}"
        module = list(rel[:-1]) if rel[-1] == "__init__" else list(rel)
        package = module if rel[-1] == "__init__" else module[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else []
                target = base + (node.module.split(".") if node.module else [])
                names = [target + [a.name] for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name.split(".") for a in node.names]
            else:
                continue
            for t in names:
                other = ("webhooks" if t[0] == "webhooks" else
                         f"engine.{t[1]}" if t[0] == "engine" and len(t) > 1 else None)
                if other and other != me:
                    graph[me].add(other)
    return graph


def test_no_package_imports_one_that_imports_it():
    graph = package_graph()
    assert "engine.runtime" in graph["engine.worker"]  # the reader sees the imports
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"package cycle: {' <- '.join(exc.args[1])}") from None


def test_the_clock_and_the_store_are_below_the_runtime():
    graph = package_graph()
    assert "engine.runtime" not in graph["engine.clock"]
    assert "engine.worker" not in graph["engine.clock"]
    assert not {"engine.runtime", "engine.web", "engine.cli"} & graph["engine.store"]
    assert not {"engine.runtime", "engine.cli"} & graph["webhooks"]


def test_the_definitions_import_nothing_that_reads_entered_data():
    """A form as written (spec, rules, JSON Logic) is a definition; the definitions and
    their checker import neither the forms' data nor the store."""
    graph = package_graph()
    assert not {"engine.forms", "engine.store", "engine.runtime"} & graph["engine.definitions"]
