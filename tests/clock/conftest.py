"""The clock tests reuse the runtime tests' database fixtures (SQLite, and PostgreSQL
when AKSI_TEST_DATABASE_URL is set)."""

from runtime.conftest import db, db_url, defs, raw_db, regions, toy_defs  # noqa: F401
