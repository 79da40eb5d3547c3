"""`aksi demo`: the default province, its year played by the simulator up to an early date
in the real database (SQLite and PostgreSQL): an account for every role and unit of every
region (the regions counted from the Kemendagri data, the roles read from the YAML),
stages approved, sent back with a reason, overdue and open, notices in inboxes, forms
with data; the same again in another database; a second run keeps what is there."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from click.testing import CliRunner
from lokal import wilayah
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from engine.cli import main
from engine.definitions import load
from engine.store import Database
from engine.store.models import Assignment, Event, FormPart, InboxItem, Task, User
from helpers import WORKFLOWS

PROVINCE = "19"
AS_OF = "2026-01-20"  # after the first kecamatan deadline (15 January): some are overdue
ARGS = ["--workflows", str(WORKFLOWS)]


def demo(url: str, *extra: str):
    return CliRunner().invoke(main, [*ARGS, "--db", url, "demo", "--as-of", AS_OF, *extra])


def counts(url: str) -> dict:
    """What the played year holds: tasks per state, events per kind, inbox items, saved
    parts, users: the same for the same seed and date whatever the database."""
    db = Database(url)
    try:
        with db.session() as s:
            return {
                "states": Counter(dict(s.execute(select(Task.state, func.count())
                                                 .group_by(Task.state)).all())),
                "events": Counter(dict(s.execute(select(Event.kind, func.count())
                                                 .group_by(Event.kind)).all())),
                "inbox": s.scalar(select(func.count()).select_from(InboxItem)),
                "parts": s.scalar(select(func.count()).select_from(FormPart)),
                "users": s.scalar(select(func.count()).select_from(User)),
            }
    finally:
        db.dispose()


@pytest.fixture(autouse=True)
def files(tmp_path, monkeypatch):
    monkeypatch.delenv("AKSI_WORKFLOWS", raising=False)
    monkeypatch.delenv("AKSI_DATABASE_URL", raising=False)
    monkeypatch.setenv("AKSI_FILES", str(tmp_path / "files"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """The same demo played once in a SQLite file of its own."""
    root = tmp_path_factory.mktemp("demo-ref")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("AKSI_DATABASE_URL", raising=False)
        mp.setenv("AKSI_FILES", str(root / "files"))
        result = demo(f"sqlite:///{root / 'demo.db'}")
    assert result.exit_code == 0, result.output
    return counts(f"sqlite:///{root / 'demo.db'}")


def test_demo_plays_the_province_up_to_the_date(db_url, reference):
    result = demo(db_url)
    assert result.exit_code == 0, result.output
    definitions = load(WORKFLOWS)
    kabs = [w.code for w in wilayah.list_wilayah(PROVINCE)]
    regions = {1: [PROVINCE], 2: kabs,
               3: [w.code for k in kabs for w in wilayah.list_wilayah(k)]}
    db = Database(db_url)
    try:
        with db.session() as s:
            held = {(a.role, a.region_code, a.unit): u for a, u in s.execute(
                select(Assignment, User).join(User, User.id == Assignment.user_id)).all()}
            # an account for every role and unit of every region, password 'demo'
            for d in definitions:
                for code in regions[d.tier]:
                    for role, spec in d.roles.items():
                        for unit in spec.units or (None,):
                            user = held.get((role, code, unit))
                            assert user is not None, (role, code, unit)
                            assert user.username in result.output  # printed in the table
            some = held[("operator", regions[3][0], "Puskesmas")]
            assert check_password_hash(some.password_hash, "demo")
            done = {d.level: d.lifecycle.done for d in definitions}
            tasks = s.scalars(select(Task).where(Task.year == 2026)).all()
            at = dt.datetime.fromisoformat(AS_OF + "T00:00+00:00")
            assert any(t.state == done[t.level] for t in tasks)  # approved
            overdue = [t for t in tasks if t.state != done[t.level] and t.due_at < at
                       and t.state != definitions[t.level].lifecycle.initial]
            assert overdue  # late and still open at the date
            returns = s.scalars(select(Event).where(Event.kind == "return")).all()
            assert returns and all(e.payload["reason"].strip() for e in returns)
            assert s.scalar(select(func.count()).select_from(InboxItem)) > 0
            kinds = set(s.scalars(select(Event.kind).distinct()))
            assert {"reminder", "escalation"} <= kinds
            filled = s.scalars(select(FormPart.data)).all()
            assert sum(bool(data) for data in filled) > 100  # forms with data
            assert not any(e.at > at for e in s.scalars(select(Event)).all())  # nothing after
    finally:
        db.dispose()
    # Deterministic: the same counts as the run in another database.
    assert counts(db_url) == reference
    for name in ("Camat", "Pemantau Bappeda Provinsi", "dengan alasan", "aksi serve"):
        assert name in result.output
    # Again on the same database: kept as it is; another year there: refused, plainly.
    before = counts(db_url)
    again = demo(db_url)
    assert again.exit_code == 0, again.output
    assert "dipakai apa adanya" in again.output and "nama pengguna" in again.output
    other = demo(db_url, "--year", "2025")
    assert other.exit_code == 1
    assert "sudah berisi kasus lain" in other.output
    assert other.exception is None or isinstance(other.exception, SystemExit)
    assert counts(db_url) == before


def test_demo_bad_options(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert demo(url, "--province", "99").exit_code == 2
    bad = CliRunner().invoke(main, [*ARGS, "--db", url, "demo", "--as-of", "20-01-2026"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    early = CliRunner().invoke(main, [*ARGS, "--db", url, "demo", "--year", "2027",
                                      "--as-of", "2026-12-01"])
    assert early.exit_code == 2 and "before the year" in early.output
