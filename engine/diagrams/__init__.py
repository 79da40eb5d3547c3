"""Pictures of definitions: stage dependency graphs, lifecycles, calendars.

Each renderer takes frozen definitions and returns text (Mermaid or DOT, or
rows for a table), so the CLI and the web viewer print the same thing.
"""

from .calendar import CalendarRow, calendar_rows, gantt
from .graphs import graph_text
from .lifecycle import lifecycle_graph
from .stages import stage_graph

__all__ = ["CalendarRow", "calendar_rows", "gantt", "graph_text", "lifecycle_graph", "stage_graph"]
