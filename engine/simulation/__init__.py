"""Simulating a cycle year: synthetic people acting on the engine in virtual time.

    >>> report = simulate(load(), Settings(2026, province="19", seed=1))
    >>> print(report.text())

Policy owners preview a YAML change with it (``aksi simulate --workflows DIR``);
tests use it as a harness. It knows no level, stage, role or state name: the
path to the done state, who walks it and who sends a stage back all come from
the definitions.
"""

from .actors import Cast, Policy, unit_slug, username
from .forms import PDF, attach_pdf, documents, rng_for, sample, unit_share
from .plan import LATE, MISSED, ON_TIME, Planner, Timeline, Tracked
from .report import SimulationReport
from .run import Settings, Simulation, SimulationError, simulate

__all__ = [
    "Cast", "LATE", "MISSED", "ON_TIME", "PDF", "Planner", "Policy", "Settings", "Simulation",
    "SimulationError", "SimulationReport", "Timeline", "Tracked", "attach_pdf", "documents",
    "rng_for", "sample", "simulate", "unit_share", "unit_slug", "username",
]
