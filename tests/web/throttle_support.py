"""Processes of threads guessing passwords, for the race test of the sign-in throttle (spawned:
kept apart from the test module so the child imports only this)."""

from __future__ import annotations

import datetime as dt
import threading


def guessing_worker(url: str, username: str, address: str, threads: int, tries: int,
                    limits: dict, now_iso: str, barrier, results) -> None:
    """``threads`` threads each trying ``tries`` wrong passwords for ``username`` from
    ``address``, all released at once by ``barrier`` (shared with the other processes);
    puts (passwords hashed, refusals before hashing, errors) on ``results``."""
    from engine.errors import Refused
    from engine.people import users
    from engine.people.throttle import Limits
    from engine.store import Database
    from sqlalchemy import text

    counts = {"hashed": 0, "refused": 0}
    errors: list[str] = []
    lock = threading.Lock()
    real_check = users.check_password_hash

    def counting_check(stored: str, password: str) -> bool:
        with lock:
            counts["hashed"] += 1
        return real_check(stored, password)

    users.check_password_hash = counting_check
    db = Database(url)
    held = [db.engine.connect() for _ in range(threads)]  # the pool keeps one per thread
    for conn in held:
        conn.close()
    limits = Limits(**limits, window=dt.timedelta(minutes=15))
    now = dt.datetime.fromisoformat(now_iso)

    def guess() -> None:
        try:
            with db.session() as session:  # connected before the race starts
                session.execute(text("SELECT 1"))
            barrier.wait(timeout=60)
            for _ in range(tries):
                try:
                    secret = users.sign_in(db, username, "tebakan", address=address,
                                           limits=limits, now=now)
                    assert secret is None
                except Refused:
                    with lock:
                        counts["refused"] += 1
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(repr(exc))

    workers = [threading.Thread(target=guess) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    db.dispose()
    results.put((counts["hashed"], counts["refused"], errors))
