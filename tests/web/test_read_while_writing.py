"""Pages read in read transactions (`Database.read()`): on SQLite they answer while a long
write - a year start, an import - holds the database's write lock, instead of queueing
behind it (every write transaction is BEGIN IMMEDIATE). On every backend."""

from __future__ import annotations

import threading

from engine.runtime import act, find_task
from runtime.support import NOW, YEAR, user

from .conftest import KEC, sign_in

STAGE = "analisis_situasi"
WAIT = 60  # seconds a thread waits for the other before the test fails (never reached)


def test_pages_answer_while_a_write_holds_the_lock(started, client):
    operator = user("operator", KEC)
    assert sign_in(client, operator).status_code == 302
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def long_write() -> None:
        """A write transaction (the operator's submit) that stays open until released."""
        try:
            with started.session() as s:
                act(s, task=find_task(s, KEC, STAGE, YEAR), trigger="submit",
                    username=operator, now=NOW)
                s.flush()
                holding.set()
                assert release.wait(WAIT)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
            holding.set()

    writer = threading.Thread(target=long_write)
    writer.start()
    try:
        assert holding.wait(WAIT)
        listing = client.get("/tugas")
        stage_page = client.get(f"/tugas/{YEAR}/{KEC}/{STAGE}")
    finally:
        release.set()
        writer.join(WAIT)
    assert not failures
    assert listing.status_code == 200, listing.data[:500]
    assert stage_page.status_code == 200, stage_page.data[:500]
    # What was committed when it was read: the stage not yet submitted.
    assert '<dd class="state">Siap diisi</dd>' in stage_page.get_data(as_text=True)
    after = client.get(f"/tugas/{YEAR}/{KEC}/{STAGE}")
    assert '<dd class="state">Menunggu verifikasi</dd>' in after.get_data(as_text=True)
