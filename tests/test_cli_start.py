"""What a command imports before it runs: `aksi --help` only click, `aksi task show` not the
web app, Alembic, spreadsheets or PDF (start-up is most of what a user waits for; the
figures are in benchmarks/cli_start.py). Checked by the modules a real process loaded, not
by time."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

import engine.cli
from engine.cli import COMMANDS, main

PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.__stderr__.write("MODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
from engine.cli import main
sys.argv = ["aksi"] + sys.argv[1:]
main()
"""


def loaded(*args: str, cwd: Path) -> set[str]:
    """The modules a whole `aksi ARGS` process had imported when it ended."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line[len("MODULES "):]))


def roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_help_imports_click_and_nothing_of_the_engine(tmp_path):
    modules = loaded("--help", cwd=tmp_path)
    assert {m for m in modules if m.startswith("engine")} == {
        "engine", "engine.cli", "engine.environment"}
    assert not roots(modules) & {"sqlalchemy", "yaml", "jsonschema", "flask", "lokal", "alembic"}


def test_task_show_imports_no_web_app_alembic_spreadsheet_pdf_or_validation(tmp_path):
    db = f"sqlite:///{tmp_path}/a.db"
    for args in (["db", "upgrade"], ["regions", "load", "--province", "19", "--no-desa"],
                 ["year", "start", "2026", "--province", "19"]):
        done = subprocess.run([sys.executable, "-c", PROBE, "--db", db, *args], cwd=tmp_path,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    modules = loaded("--db", db, "task", "show", "19.01.01", "analisis_situasi", "--year",
                     "2026", cwd=tmp_path)
    assert "engine.runtime.tasks" in modules  # it showed the stage
    assert not roots(modules) & {"flask", "alembic", "openpyxl", "weasyprint", "lokal",
                                 "apispec", "jinja2", "jsonschema", "fastjsonschema"}
    assert not {m for m in modules if m.startswith(("engine.web", "engine.simulation"))}
    # Acting on a stage and starting a year are imported by the commands that do so.
    assert not modules & {"engine.runtime.actions", "engine.runtime.years"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_listed_help_line_is_the_commands_own(name):
    command = main.get_command(click.Context(main), name)
    assert command is not None and command.name == name
    assert COMMANDS[name][1] == command.get_short_help_str(limit=10**6)


def test_every_command_module_is_listed():
    """Each module of engine/cli defines commands and is listed; helpers shared by
    several of them are private (``_outbox``)."""
    listed = {module for modules, _ in COMMANDS.values() for module in modules}
    present = {m.name for m in pkgutil.iter_modules(engine.cli.__path__)
               if not m.name.startswith("_")}
    assert present == listed


@pytest.mark.parametrize("package", ["engine.runtime", "engine.forms", "engine.definitions",
                                     "engine.regions"])
def test_a_lazily_exported_name_is_never_shadowed_by_a_submodule(package):
    """Once every submodule is imported, each exported name is still what it names: a
    submodule of the same name would otherwise take the package attribute's place."""
    import importlib

    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, f"{package}."):
        importlib.import_module(info.name)
    shadowed = [n for n in module.__all__ if type(getattr(module, n)).__name__ == "module"]
    assert not shadowed
