"""Charts drawn on the server as SVG: no script, no library, and the CSP's ``style-src
'self'`` holds (presentation attributes only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date

from ..runtime.dashboard import Week
from .filters import LOCALE

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    due_points: str  # "x,y x,y ..." for <polyline>
    done_points: str
    now_x: float | None
    y_ticks: list[tuple[float, str]]  # (y, label)
    x_ticks: list[tuple[float, str]]  # (x, month label)
    plot: tuple[int, int, int, int]  # left, top, right, bottom
    summary: str  # the text alternative


def progress_chart(weeks: list[Week], now: dt.datetime) -> Chart | None:
    """Cumulative stages due and done, week by week, with a line at ``now``."""
    if not weeks or not weeks[-1].due:
        return None
    top = max(weeks[-1].due, weeks[-1].done)
    span_x = WIDTH - LEFT - RIGHT
    span_y = HEIGHT - TOP - BOTTOM

    def x(index: float) -> float:
        return round(LEFT + span_x * index / max(1, len(weeks) - 1), 1)

    def y(value: int) -> float:
        return round(TOP + span_y * (1 - value / top), 1)

    now_week = (now.date() - weeks[0].starts).days / 7
    upto = [w for w in weeks if (w.starts - weeks[0].starts).days / 7 <= now_week]
    ticks = [(y(v), f"{v:,}".replace(",", ".")) for v in (0, top // 2, top)]
    months = []
    for i, w in enumerate(weeks):
        if w.starts.day <= 7:
            months.append((x(i), format_date(w.starts, "MMM", locale=LOCALE)))
    now_x = x(now_week) if 0 <= now_week <= len(weeks) - 1 else None
    last = upto[-1] if upto else weeks[0]
    summary = (f"Sampai minggu ini {last.done:,} tahap selesai dari {last.due:,} yang sudah "
               f"jatuh tempo; {weeks[-1].due:,} tahap sepanjang tahun.").replace(",", ".")
    return Chart(WIDTH, HEIGHT,
                 " ".join(f"{x(i)},{y(w.due)}" for i, w in enumerate(weeks)),
                 " ".join(f"{x(i)},{y(w.done)}" for i, w in enumerate(upto)),
                 now_x, ticks, months, (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM), summary)
