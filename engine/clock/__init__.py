"""Time: deadlines in each region's zone, and the tick that acts when moments come.

- ``deadlines`` - when a stage opens and is due (end of day, region's zone, holidays).
- ``tick``      - one idempotent pass: open stages whose day came, fire due reminders
                  and escalations. Import it as ``engine.worker.tick``.
- ``scheduler`` - APScheduler running the tick (and webhook delivery) in a process.
"""

from .deadlines import due_at, local, opens_at, utcnow, working_day_on_or_after

__all__ = ["due_at", "local", "opens_at", "utcnow", "working_day_on_or_after"]
