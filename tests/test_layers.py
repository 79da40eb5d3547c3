"""The packages import each other in one direction: no package cycle (read from the
source's import statements, lazy imports inside functions included). One known cycle is
left, named here so that no other can appear unnoticed: the definitions' form checker
(definitions/checks/forms.py) reads form specs from engine.forms, whose documents and
deadlines read the definitions' day and month names (engine.clock -> engine.definitions)."""

from __future__ import annotations

import ast
import graphlib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KNOWN = {("engine.definitions", "engine.forms")}  # edge dropped before checking


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
    for source, target in KNOWN:
        graph[source].discard(target)
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
