"""``aksi graph``: the stage dependency graph and the lifecycle of one level."""

from __future__ import annotations

import click

from ..diagrams import lifecycle_graph, stage_graph
from . import Context, level_choice, main, pass_context


@main.command("graph")
@click.argument("level")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid",
              show_default=True)
@click.option("--part", type=click.Choice(["all", "stages", "lifecycle"]), default="all",
              show_default=True, help="Which diagram to print.")
@pass_context
def graph_command(ctx: Context, level: str, fmt: str, part: str) -> None:
    """Print LEVEL's stage dependency graph and stage lifecycle diagram."""
    definition = ctx.definitions()[level_choice(ctx, level)]
    comment = "%%" if fmt == "mermaid" else "//"
    out = []
    if part in ("all", "stages"):
        out.append(f"{comment} Ketergantungan tahap: {definition.title}\n"
                   + stage_graph(definition, fmt))
    if part in ("all", "lifecycle"):
        out.append(f"{comment} Siklus tahap: {definition.title}\n"
                   + lifecycle_graph(definition, fmt))
    click.echo("\n".join(out).rstrip("\n"))
