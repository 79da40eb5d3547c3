"""Which stage waits for which: `after` within a case, `waits_for` on child regions."""

from __future__ import annotations

import graphviz

from ..definitions import Definition


def _child_node(level: str, stage: str) -> str:
    return f"{level}__{stage}"


def _child_label(wf, child: Definition | None) -> str:
    """The child stage a gate waits for, by its name when the child level is known (the
    level by its id: a definition set names its levels)."""
    if child is None or child.level != wf.level:
        return f"{wf.level}: {wf.stage}"
    try:
        return f"{wf.level}: {child.stage(wf.stage).name}"
    except KeyError:
        return f"{wf.level}: {wf.stage}"


def _quorum(definition: Definition, stage_id: str, child: Definition | None = None) -> str:
    wf = definition.stage(stage_id).waits_for
    assert wf is not None
    who = "semua" if wf.needs_all else f"{wf.quorum_percent}%"
    if child is not None and child.level == wf.level:
        state = wf.state or child.lifecycle.done
        named = child.lifecycle.states.get(state)
        return f"{who} {wf.level}: {named.name if named else state}"
    return f"{who} {wf.level}: {wf.state or 'selesai'}"


def stage_graph(definition: Definition, fmt: str = "mermaid",
                child: Definition | None = None) -> str:
    """``child``: the level a `waits_for` names, so its stage and state show by name."""
    return _dot(definition, child) if fmt == "dot" else _mermaid(definition, child)


def _mermaid(d: Definition, child: Definition | None = None) -> str:
    lines = ["flowchart LR"]
    for group in dict.fromkeys(s.group for s in d.stages):
        label = d.groups.get(group, group)
        lines.append(f'  subgraph group_{group}["{label}"]')
        for s in (s for s in d.stages if s.group == group):
            lines.append(f'    {s.id}["{s.name}<br/>tenggat {s.due}"]')
        lines.append("  end")
    for s in d.stages:
        for dep in s.after:
            lines.append(f"  {dep} --> {s.id}")
        if s.waits_for:
            node = _child_node(s.waits_for.level, s.waits_for.stage)
            lines.append(f'  {node}(["{_child_label(s.waits_for, child)}"])')
            lines.append(f'  {node} -.->|"{_quorum(d, s.id, child)}"| {s.id}')
    return "\n".join(lines) + "\n"


def _dot(d: Definition, child: Definition | None = None) -> str:
    g = graphviz.Digraph(d.level, graph_attr={"rankdir": "LR", "label": d.title},
                         node_attr={"shape": "box", "style": "rounded"})
    for group in dict.fromkeys(s.group for s in d.stages):
        with g.subgraph(name=f"cluster_{group}", graph_attr={"label": d.groups.get(group, group)}) as sub:
            for s in (s for s in d.stages if s.group == group):
                sub.node(s.id, f"{s.name}\ntenggat {s.due}")
    for s in d.stages:
        for dep in s.after:
            g.edge(dep, s.id)
        if s.waits_for:
            node = _child_node(s.waits_for.level, s.waits_for.stage)
            g.node(node, _child_label(s.waits_for, child), shape="ellipse")
            g.edge(node, s.id, label=_quorum(d, s.id, child), style="dashed")
    return g.source
