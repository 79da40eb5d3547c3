"""The clock tests reuse the runtime tests' domain fixtures; the database fixtures
come from tests/conftest.py."""

from runtime.conftest import defs, regions, toy_defs  # noqa: F401
