"""Racing writers: threads and processes on one store, on every backend.

No lost update, no double transition, and a parent gate that opens exactly once.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter

from sqlalchemy import select

from engine.errors import Conflict, InvalidTrigger
from engine.runtime import act, act_on, find_task
from engine.store.models import Event

from . import support
from .support import BANGKA_KECAMATAN, KABUPATEN_BANGKA, NOW, YEAR, task_events, user

STAGE = "analisis_situasi"


def test_threads_racing_one_trigger_one_wins(started):
    kec = BANGKA_KECAMATAN[0]
    with started.session() as s:
        seen = find_task(s, kec, STAGE, YEAR).version
    assert seen == 1
    threads = 8
    barrier = threading.Barrier(threads)
    outcomes: list[object] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            barrier.wait(timeout=30)
            with started.session() as s:
                task = find_task(s, kec, STAGE, YEAR)
                r = act(s, task=task, trigger="submit", username=user("operator", kec),
                        expected_version=seen, now=NOW)
            outcome: object = r
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on below
            outcome = exc
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not any(w.is_alive() for w in workers)
    assert len(outcomes) == threads
    wins = [o for o in outcomes if not isinstance(o, Exception)]
    losses = [o for o in outcomes if isinstance(o, Exception)]
    assert len(wins) == 1, outcomes
    assert (wins[0].from_state, wins[0].to_state, wins[0].version) == ("ready", "submitted", 2)
    assert all(isinstance(o, (Conflict, InvalidTrigger)) for o in losses), losses
    with started.session() as s:
        task = find_task(s, kec, STAGE, YEAR)
        assert (task.state, task.version) == ("submitted", 2)
        assert [e.kind for e in task_events(s, task.id)] == ["open", "submit"]


def test_processes_racing_through_the_lifecycle(started, db_url):
    codes = list(BANGKA_KECAMATAN)
    ctx = multiprocessing.get_context("spawn")
    procs_n = 4
    barrier = ctx.Barrier(procs_n)
    results = ctx.Queue()
    procs = [ctx.Process(target=support.race_worker,
                         args=(db_url, codes, STAGE, YEAR, NOW.isoformat(), seed, barrier,
                               results))
             for seed in range(procs_n)]
    for p in procs:
        p.start()
    reports = [results.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert all(kind == "ok" for kind, _ in reports), reports
    total = Counter()
    for _, counts in reports:
        total.update(counts)
    # every successful action in any process is one transition: 8 of each, no more
    assert (total["submit"], total["verify"], total["approve"]) == (8, 8, 8), total

    with started.session() as s:
        for code in codes:
            task = find_task(s, code, STAGE, YEAR)
            evs = task_events(s, task.id)
            assert task.state == "approved"
            assert task.version == 4
            assert Counter(e.kind for e in evs) == {"open": 1, "submit": 1, "verify": 1,
                                                    "approve": 1}
            # the events chain state to state: nothing lost, nothing doubled
            chain = [(e.from_state, e.to_state) for e in evs]
            assert chain == [("locked", "ready"), ("ready", "submitted"),
                             ("submitted", "verified"), ("verified", "approved")]
            assert [e.actor for e in evs[1:]] == [user(r, code) for r in
                                                  ("operator", "verifikator", "approver")]
        parent = find_task(s, KABUPATEN_BANGKA, STAGE, YEAR)
        assert parent.state == "ready"
        assert [(e.kind, e.actor) for e in task_events(s, parent.id)] == [("open", "system")]
        assert len(s.scalars(select(Event).where(Event.kind == "open",
                                                 Event.region_code == KABUPATEN_BANGKA,
                                                 Event.stage == STAGE)).all()) == 1


def test_two_stages_of_one_case_approved_concurrently(started):
    """Approvals of two stages of one kecamatan in overlapping transactions both succeed.

    Transaction X holds analisis_situasi's row (verify) while a second transaction
    approves penandaan_apbd_berjalan; X then approves too. Both stages are `after`
    stages of pra_musrenbang, which must open exactly once.
    """
    kec = BANGKA_KECAMATAN[0]
    feb = NOW.replace(month=2, day=2)  # pra_musrenbang may open
    with started.session() as s:
        act_on(s, kec, "analisis_situasi", YEAR, "submit", user("operator", kec), now=feb)
        for trigger, role in (("submit", "operator"), ("verify", "verifikator")):
            act_on(s, kec, "penandaan_apbd_berjalan", YEAR, trigger, user(role, kec), now=feb)
    outcome: dict[str, object] = {}

    def other() -> None:
        try:
            with started.session() as s:
                outcome["other"] = act_on(s, kec, "penandaan_apbd_berjalan", YEAR, "approve",
                                          user("approver", kec), now=feb)
        except Exception as exc:  # noqa: BLE001
            outcome["other"] = exc

    thread = threading.Thread(target=other)
    try:
        with started.session() as s:
            act_on(s, kec, "analisis_situasi", YEAR, "verify", user("verifikator", kec), now=feb)
            thread.start()
            time.sleep(0.5)  # the other approval is now under way (or queued on SQLite)
            outcome["x"] = act_on(s, kec, "analisis_situasi", YEAR, "approve",
                                  user("approver", kec), now=feb)
    except Exception as exc:  # noqa: BLE001
        outcome["x"] = exc
    thread.join(timeout=60)
    assert not thread.is_alive()
    errors = {k: v for k, v in outcome.items() if isinstance(v, Exception)}
    assert errors == {}, {k: repr(v) for k, v in errors.items()}
    with started.session() as s:
        for stage in ("analisis_situasi", "penandaan_apbd_berjalan"):
            assert find_task(s, kec, stage, YEAR).state == "approved"
        pra = find_task(s, kec, "pra_musrenbang", YEAR)
        assert pra.state == "ready"
        assert [e.kind for e in task_events(s, pra.id)] == ["open"]
