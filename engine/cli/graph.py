"""``aksi graph``: the stage dependency graph and the lifecycle of one level."""

from __future__ import annotations

import click

from ..diagrams import graph_text
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
    definitions = ctx.definitions()
    definition = definitions[level_choice(ctx, level)]
    click.echo(graph_text(definition, fmt, part, child=definitions.child_of(level)))
