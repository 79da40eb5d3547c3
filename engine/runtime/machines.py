"""One `transitions` machine per lifecycle, shared by every task that follows it.

Building a Machine per task would cost ~28 s for 100k tasks. Instead each
lifecycle gets one machine with no models attached, and its events are fired
on a throw-away token that carries only the task's state (pytransitions:
"one machine shared by many models; the model holds only its state").
"""

from __future__ import annotations

import functools

from transitions import Machine, MachineError

from ..definitions import Definition
from ..errors import InvalidTrigger


class _Token:
    __slots__ = ("state",)

    def __init__(self, state: str):
        self.state = state


@functools.lru_cache(maxsize=64)  # keyed by content hash: definitions are immutable
def machine_for(definition: Definition) -> Machine:
    lc = definition.lifecycle
    return Machine(
        model=None,
        states=list(lc.states),
        transitions=[
            {"trigger": t.id, "source": list(t.sources), "dest": t.dest}
            for t in lc.triggers.values()
        ],
        initial=lc.initial,
        auto_transitions=False,
    )


def next_state(definition: Definition, state: str, trigger: str) -> str:
    """The state ``trigger`` leads to from ``state``; `InvalidTrigger` if it does not apply."""
    return _next_state(definition, state, trigger)


@functools.lru_cache(maxsize=4096)  # the machine's answer never changes for a definition
def _next_state(definition: Definition, state: str, trigger: str) -> str:
    machine = machine_for(definition)
    if trigger not in machine.events:
        raise InvalidTrigger(f"pemicu '{trigger}' tidak dikenal", trigger=trigger)
    token = _Token(state)
    try:
        machine.events[trigger].trigger(token)
    except MachineError:
        lc = definition.lifecycle
        name = lc.states[state].name if state in lc.states else state
        raise InvalidTrigger(
            f"'{lc.triggers[trigger].name}' tidak dapat dilakukan pada tahap berstatus "
            f"'{name}'", trigger=trigger, state=state) from None
    return token.state


def triggers_from(definition: Definition, state: str) -> list[str]:
    """Triggers that apply in ``state`` (whoever may fire them)."""
    return [t.id for t in definition.lifecycle.triggers.values() if state in t.sources]
