"""Fixtures shared by the tests; the helpers themselves live in helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import ToyCopy


@pytest.fixture
def toy(tmp_path: Path) -> ToyCopy:
    """A writable copy of tests/fixtures/toy to break."""
    return ToyCopy(tmp_path / "toy")
