"""The build's one step beyond pyproject.toml: the wheel carries the project's default
definitions. ``workflows/`` and ``forms/`` stay where policy owners edit them, at the top of
the source tree; building copies them into the package as ``engine/_defaults/workflows``
and ``engine/_defaults/forms`` (side by side, so a definition's default ``forms: ../forms``
still finds its forms). An editable install reads them from the source tree instead
(engine/definitions/loader.py, ``PACKAGED``)."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DEFAULTS = ("workflows", "forms")  # top-level directories -> engine/_defaults/<name>


class BuildWithDefaults(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for name in DEFAULTS:
            target = Path(self.build_lib) / "engine" / "_defaults" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / name, target,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildWithDefaults})
