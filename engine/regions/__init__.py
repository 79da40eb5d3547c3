"""Regions: the Kemendagri code tree with each region's time zone."""

from .codes import ancestors, is_within, parent_of, tier_of, within_clause
from .loader import LoadReport, UnknownRegion, kemendagri_regions, load_regions
from .zones import WIB, WIT, WITA, ZONE_NAMES, zone_of

__all__ = [
    "LoadReport", "UnknownRegion", "WIB", "WIT", "WITA", "ZONE_NAMES", "ancestors", "is_within",
    "kemendagri_regions", "load_regions", "parent_of", "tier_of", "within_clause", "zone_of",
]
