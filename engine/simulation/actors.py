"""Synthetic actors: which trigger a person fires next on a stage, and who that person is.

Everything is read from the lifecycle: no state, trigger or role is named here.

- `Policy` - per lifecycle, how far each state is from the done state (counted in
  triggers people may fire), the triggers that take one step closer, and the
  triggers that send a stage back (they need a written reason and lead further
  from done, e.g. a "return").
- `Cast` - the synthetic users, one per role per region (``ROLE-REGIONCODE``) or, for
  a role with units, one per unit (the first unit's holder ``ROLE-REGIONCODE``, the
  others ``ROLE-UNIT-REGIONCODE``, `username`), and the one who may fire a trigger on a
  given task or on one unit's part of it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from dataclasses import dataclass
from types import MappingProxyType
from typing import Iterable, Mapping, Sequence

from ..definitions import Definition, DefinitionSet, Trigger
from ..people import role_region


def unit_slug(unit: str) -> str:
    """A unit as it appears in a user name: its abbreviation in brackets when it has one
    ("Dinas Kesehatan" -> ``dinas-kesehatan``, "... (DP2KB)" -> ``dp2kb``)."""
    short = re.search(r"\(([^()]+)\)\s*$", unit)
    text = unicodedata.normalize("NFKD", short.group(1) if short else unit)
    text = "".join(c for c in text if c.isascii()).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unit"


def username(role: str, region_code: str, unit: str | None = None,
             units: Sequence[str] = ()) -> str:
    """The synthetic user holding ``role`` on ``region_code`` (for ``unit``, when given):
    ``operator-19.01.01``, ``operator-puskesmas-19.01.01``. The holder of the first of the
    role's ``units`` (Setcam at a kecamatan) is plain ROLE-REGIONCODE, as is the holder of
    a role without units. The one place these names are made: the simulator and
    ``aksi demo`` both use it."""
    if unit and not (units and unit == units[0]):
        return f"{role}-{unit_slug(unit)}-{region_code}"
    return f"{role}-{region_code}"


def _usable(lc_initial: str, trigger: Trigger) -> bool:
    """A trigger a synthetic person may fire: not the system's, not back to the initial state."""
    return not trigger.by_system and trigger.dest != lc_initial


@dataclass(frozen=True)
class Policy:
    """How a lifecycle is walked to its done state."""

    done: str
    initial: str
    distance: Mapping[str, int]  # state -> triggers still needed to reach done
    forward: Mapping[str, tuple[Trigger, ...]]  # state -> triggers one step closer (YAML order)
    returns: Mapping[str, tuple[Trigger, ...]]  # state -> reasoned triggers further from done

    @classmethod
    def of(cls, definition: Definition, stage: str) -> "Policy":
        """The walk of ``stage``: its triggers with the roles that fire them there."""
        lc = definition.lifecycle
        usable = [t for t in definition.triggers(stage).values() if _usable(lc.initial, t)]
        # Breadth-first, backwards from done over the usable triggers.
        distance = {lc.done: 0}
        queue = deque([lc.done])
        while queue:
            state = queue.popleft()
            for t in usable:
                if t.dest != state:
                    continue
                for source in t.sources:
                    if source not in distance:
                        distance[source] = distance[state] + 1
                        queue.append(source)
        forward, returns = {}, {}
        for state, d in distance.items():
            if state == lc.done:
                continue
            forward[state] = tuple(t for t in usable
                                   if state in t.sources and distance.get(t.dest) == d - 1)
            returns[state] = tuple(t for t in usable
                                   if state in t.sources and t.reason_required
                                   and t.dest in distance and distance[t.dest] > d)
        return cls(lc.done, lc.initial, MappingProxyType(distance),
                   MappingProxyType(forward), MappingProxyType(returns))

    def steps_left(self, state: str) -> int | None:
        """Triggers still needed from ``state`` to done; None when done cannot be reached."""
        return self.distance.get(state)


class Cast:
    """The synthetic users and who among them fires a trigger on a task."""

    def __init__(self, definitions: DefinitionSet, usernames: Iterable[str]):
        self.definitions = definitions
        self.usernames = frozenset(usernames)

    def actors(self, trigger: Trigger, level: str, region_code: str, *,
               unit: str | None = None, parted: bool = False) -> list[str]:
        """Users holding one of the trigger's roles for this task, in the trigger's order.

        With ``unit`` (a part of a stage split into parts), a role with units is held by
        that unit's user. With ``parted`` and no unit (the whole of such a stage), roles
        with units are left out: their holders act on their own unit's part only.
        """
        found = []
        for ref in trigger.by:
            resolved = self.definitions.resolve(level, ref)
            if resolved is None:
                continue
            target, role = resolved
            code = role_region(ref, region_code, {target.level: target.tier})
            if code is None:
                continue
            units = target.roles[role].units if role in target.roles else ()
            if units and unit is not None:
                if unit not in units:
                    continue
                name = username(role, code, unit, units)
            elif units and parted:
                continue
            else:
                name = username(role, code)  # the first unit's holder, or the role's
            if name in self.usernames and name not in found:
                found.append(name)
        return found
