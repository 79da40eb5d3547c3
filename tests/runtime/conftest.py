"""Fixtures of the runtime tests: definitions, a province, a started year.

The database fixtures (`db_url`, `raw_db`, `db`: every backend) are in tests/conftest.py.
"""

from __future__ import annotations


import pytest

from engine.definitions import DefinitionSet, load
from engine.regions import load_regions
from engine.runtime import start_year
from engine.store import Database

from .support import NOW, TOY, WORKFLOWS, YEAR, add_standard_users, lifecycle_only

@pytest.fixture(scope="session")
def defs(tmp_path_factory) -> DefinitionSet:
    """The juknis lifecycle and stages (kecamatan, kabkota, provinsi) with forms that take
    any data and no parts: what the lifecycle, gate, clock and web tests walk. The forms
    themselves are tested with `juknis_defs`."""
    return load(lifecycle_only(WORKFLOWS, tmp_path_factory.mktemp("lifecycle")))


@pytest.fixture(scope="session")
def juknis_defs() -> DefinitionSet:
    """The juknis definitions exactly as shipped, forms and parts included."""
    return load(WORKFLOWS)


@pytest.fixture(scope="session")
def toy_defs() -> DefinitionSet:
    """The toy definitions (region tier 1, district tier 2)."""
    return load(TOY / "workflows")


@pytest.fixture
def regions(db: Database) -> Database:
    """The store with Kepulauan Bangka Belitung (19) loaded."""
    with db.session() as s:
        load_regions(s, "19")
    return db


@pytest.fixture
def started(regions: Database, defs: DefinitionSet) -> Database:
    """Year 2026 started for province 19 at `NOW`, with the standard users."""
    with regions.session() as s:
        start_year(s, defs, YEAR, province="19", now=NOW)
        add_standard_users(s, defs)
    return regions
