"""Where the definitions shipped with aksi are: the ones used when neither ``--workflows``
nor $AKSI_WORKFLOWS names a directory and there is no ``./workflows``.

A wheel carries the project's ``workflows/`` and ``forms/`` as ``engine/_defaults/``
(setup.py copies them at build time); a source tree (an editable install) has them at its
top, beside ``engine/``. Either way the two sit side by side, as a definition's default
``forms: ../forms`` expects.
"""

from __future__ import annotations

from pathlib import Path

_ENGINE = Path(__file__).resolve().parents[1]
_BUILT = _ENGINE / "_defaults"

ROOT = _BUILT if _BUILT.is_dir() else _ENGINE.parent
WORKFLOWS = ROOT / "workflows"
SCHEMA = WORKFLOWS / "schema.json"
