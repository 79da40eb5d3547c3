"""The stage lifecycle as a state diagram: Mermaid written here, DOT drawn by transitions'
GraphMachine."""

from __future__ import annotations

from transitions.extensions import GraphMachine

from ..definitions import Definition


class _LabelledState(GraphMachine.state_cls):
    # GraphMachine draws a state's `label` when it has one; core State has none.
    def __init__(self, *args, label: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.label = label


class _LabelledTransition(GraphMachine.transition_cls):
    def __init__(self, *args, label: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.label = label


class _Diagram(GraphMachine):
    state_cls = _LabelledState
    transition_cls = _LabelledTransition


def lifecycle_graph(definition: Definition, fmt: str = "mermaid") -> str:
    return _mermaid(definition) if fmt == "mermaid" else _dot(definition)


def _who(definition: Definition, trigger) -> str:
    """The roles that fire ``trigger``, then the stages that name others (their own `by`):
    ``approver; pra_musrenbang, penilaian_monev: sekda``."""
    text = ", ".join(map(str, trigger.by))
    others: dict[str, list[str]] = {}
    for stage in definition:
        by = stage.trigger(trigger.id).by
        if by != trigger.by:
            others.setdefault(", ".join(map(str, by)), []).append(stage.id)
    return "; ".join([text] + [f"{', '.join(s)}: {r}" for r, s in others.items()])


def _mermaid(definition: Definition) -> str:
    """A Mermaid state diagram Mermaid itself draws. (GraphMachine's Mermaid output begins
    with a title block Mermaid refuses and colours the initial state as the current one.)"""
    lc = definition.lifecycle
    lines = ["stateDiagram-v2", "  direction LR"]
    lines += [f'  state "{s.name}" as {s.id}' for s in lc.states.values()]
    lines.append(f"  [*] --> {lc.initial}")
    lines += [f"  {source} --> {t.dest}: {t.name} ({_who(definition, t)})"
              for t in lc.triggers.values() for source in t.sources]
    return "\n".join(lines) + "\n"


def _dot(definition: Definition) -> str:
    lc = definition.lifecycle
    states = [{"name": s.id, "label": s.name} for s in lc.states.values()]
    transitions = [
        {
            "trigger": t.id,
            "source": list(t.sources),
            "dest": t.dest,
            "label": f"{t.name} ({_who(definition, t)})",
        }
        for t in lc.triggers.values()
    ]

    class Model:  # GraphMachine draws the graph of a model
        pass

    model = Model()
    _Diagram(model=model, states=states, transitions=transitions, initial=lc.initial,
             graph_engine="graphviz", auto_transitions=False, show_state_attributes=False,
             title=f"Siklus tahap - {definition.title}")
    return model.get_graph().source
