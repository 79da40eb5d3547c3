"""The worker: the periodic work that moves the year on by itself.

- ``tick``      - one idempotent pass: open stages whose day came, fire due reminders and
                  escalations (claims its work in the database; any number of workers).
- ``scheduler`` - APScheduler running jobs every N seconds in a process; the CLI composes
                  the jobs (the tick, webhook delivery).

It sits above ``engine.runtime``; ``engine.clock`` (deadlines, ``utcnow``) is a leaf that
everything, the webhooks package included, may import.
"""
