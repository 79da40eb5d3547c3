"""Who may see and who may act: role assignments against a case's region.

- A role on a region lets the user act, with that role, on the cases of that region.
- Any role on a region lets the user see every case in it and below it.
- A trigger may also name a role of another level: ``parent:supervisor`` is held on
  the case region's parent; ``LEVEL:role`` on any region that contains the case region.
"""

from __future__ import annotations

from typing import Mapping

from ..definitions.model import PARENT as PARENT_LEVEL, RoleRef
from ..regions import is_within, parent_of, tier_of
from ..store.models import Assignment, User
from .users import Actor, Grant

Person = User | Actor  # anything with .username, .active and .assignments


def can_see(user: Person, region_code: str) -> bool:
    return any(is_within(region_code, a.region_code) for a in user.assignments)


def holds(assignment: Assignment | Grant, ref: RoleRef, level: str, region_code: str) -> bool:
    """Does ``assignment`` satisfy role reference ``ref`` for a case of ``level`` in ``region_code``?"""
    if assignment.role != ref.role:
        return False
    if ref.level is None:
        return assignment.level == level and assignment.region_code == region_code
    if ref.level == PARENT_LEVEL:
        return assignment.region_code == parent_of(region_code)
    return assignment.level == ref.level and is_within(region_code, assignment.region_code)


def role_region(ref: RoleRef, region_code: str, tiers: Mapping[str, int]) -> str | None:
    """The region whose holder of ``ref.role`` a reference means, for a case of ``region_code``.

    ``tiers`` maps level ids to their tier (for ``LEVEL:role``). None when there is no such
    region (no parent, or a level below the case's).
    """
    if ref.level is None:
        return region_code
    if ref.level == PARENT_LEVEL:
        return parent_of(region_code)
    tier = tiers.get(ref.level)
    if tier is None or tier > tier_of(region_code):
        return None
    return ".".join(region_code.split(".")[:tier])


def acting_roles(user: Person, refs: tuple[RoleRef, ...], level: str, region_code: str) -> list[str]:
    """The references in ``refs`` that ``user`` holds for this case (as text)."""
    if not user.active:
        return []
    return [str(ref) for ref in refs
            if any(holds(a, ref, level, region_code) for a in user.assignments)]
