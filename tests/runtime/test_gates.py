"""Gates: `after`, `opens` and `waits_for`, what keeps a stage locked, and reopened children."""

from __future__ import annotations

import datetime as dt

from lokal import wilayah
from sqlalchemy import select

from engine.runtime import act_on, blockers, find_task, start_year, view
from engine.store.library import pinned
from engine.store.models import Event

from .support import (
    BANGKA_KECAMATAN, KABUPATEN_BANGKA, NOW, UTC, YEAR, add_standard_users, task_events, user,
    walk_to_done,
)

STAGE = "analisis_situasi"
KEC_DUE = dt.datetime(2026, 1, 15, 16, 59, 59, tzinfo=UTC)  # 15 Jan 23:59:59 WIB
NAMES = {w.code: w.name for w in wilayah.list_wilayah(KABUPATEN_BANGKA)}


def parent_state(s):
    return find_task(s, KABUPATEN_BANGKA, STAGE, YEAR).state


def test_kabkota_opens_exactly_when_the_last_kecamatan_approves(started):
    assert list(NAMES) == list(BANGKA_KECAMATAN)
    with started.session() as s:  # one child left 'submitted' for a while
        act_on(s, BANGKA_KECAMATAN[-1], STAGE, YEAR, "submit",
               user("operator", BANGKA_KECAMATAN[-1]), now=NOW)
    for done, code in enumerate(BANGKA_KECAMATAN):
        with started.session() as s:
            parent = find_task(s, KABUPATEN_BANGKA, STAGE, YEAR)
            assert parent.state == "locked"
            v = view(s, parent, now=NOW)
            assert [b.kind for b in v.blockers] == ["waits_for"]
            b = v.blockers[0]
            assert (b.have, b.total, b.need, b.quorum_percent) == (done, 8, 8, 100)
            assert (b.level, b.stage, b.state) == ("kecamatan", STAGE, "approved")
            lagging = BANGKA_KECAMATAN[done:]
            assert b.regions == list(lagging)
            assert [(c.code, c.name, c.due_at) for c in b.children] == \
                [(k, NAMES[k], KEC_DUE) for k in lagging]
            assert [c.state for c in b.children] == \
                ["ready"] * (len(lagging) - 1) + ["submitted"]
            d = b.as_dict()
            assert d["kind"] == "waits_for" and d["regions"] == list(lagging)
            assert d["children"][0] == {"code": lagging[0], "name": NAMES[lagging[0]],
                                        "state": b.children[0].state,
                                        "due_at": KEC_DUE.isoformat()}
        with started.session() as s:
            if code == BANGKA_KECAMATAN[-1]:
                act_on(s, code, STAGE, YEAR, "verify", user("verifikator", code), now=NOW)
                result = act_on(s, code, STAGE, YEAR, "approve", user("approver", code), now=NOW)
            else:
                result = walk_to_done(s, code, STAGE)
        last = code == BANGKA_KECAMATAN[-1]
        assert result.opened == ([{"region": KABUPATEN_BANGKA, "level": "kabkota",
                                   "stage": STAGE, "state": "ready"}] if last else [])
    with started.session() as s:
        parent = find_task(s, KABUPATEN_BANGKA, STAGE, YEAR)
        assert (parent.state, parent.version) == ("ready", 2)
        assert view(s, parent, now=NOW).blockers == []
        opens = [(e.kind, e.actor, e.from_state, e.to_state) for e in task_events(s, parent.id)]
        assert opens == [("open", "system", "locked", "ready")]
        # the followers within the kab/kota case are still behind their own gates
        assert find_task(s, KABUPATEN_BANGKA, "penandaan_apbd_berjalan", YEAR).state == "locked"
        # other kab/kota are untouched
        assert find_task(s, "19.02", STAGE, YEAR).state == "locked"


def test_after_and_opens_blockers(started):
    stage = "pra_musrenbang"  # after analisis_situasi + penandaan_apbd_berjalan, opens 1 Feb
    kec = "19.01.01"
    feb_first = dt.datetime(2026, 1, 31, 17, 0, tzinfo=UTC)  # 1 Feb 00:00 WIB
    with started.session() as s:
        task = find_task(s, kec, stage, YEAR)
        d = pinned(s, task.case.definition_hash)
        found = blockers(s, task, d, NOW)
        assert [(b.kind, b.stage, b.state, b.opens_at) for b in found] == [
            ("opens", None, None, feb_first),
            ("after", "analisis_situasi", "ready", None),
            ("after", "penandaan_apbd_berjalan", "ready", None),
        ]
        assert blockers(s, task, d, feb_first)[0].kind == "after"  # the opening moment itself
        assert blockers(s, task, d, feb_first - dt.timedelta(seconds=1))[0].kind == "opens"
    with started.session() as s:
        r = walk_to_done(s, kec, "analisis_situasi", now=NOW)
    assert r.opened == []
    with started.session() as s:
        task = find_task(s, kec, stage, YEAR)
        found = blockers(s, task, pinned(s, task.case.definition_hash), NOW)
        assert [(b.kind, b.stage) for b in found] == [("opens", None),
                                                      ("after", "penandaan_apbd_berjalan")]
    # approving the last `after` in February opens it at once
    feb = dt.datetime(2026, 2, 2, 3, 0, tzinfo=UTC)
    with started.session() as s:
        r = walk_to_done(s, kec, "penandaan_apbd_berjalan", now=feb)
    assert r.opened == [{"region": kec, "level": "kecamatan", "stage": stage, "state": "ready"}]
    with started.session() as s:
        task = find_task(s, kec, stage, YEAR)
        assert task.state == "ready"
        assert [(e.kind, e.actor, e.at) for e in task_events(s, task.id)] == \
            [("open", "system", feb)]


def test_after_met_before_opening_day_stays_locked(started):
    kec = "19.01.02"
    with started.session() as s:
        walk_to_done(s, kec, "analisis_situasi", now=NOW)
        r = walk_to_done(s, kec, "penandaan_apbd_berjalan", now=NOW)
    assert r.opened == []
    with started.session() as s:
        task = find_task(s, kec, "pra_musrenbang", YEAR)
        assert task.state == "locked"
        assert [b.kind for b in view(s, task, now=NOW).blockers] == ["opens"]


def test_opens_blocker_before_new_year(regions, defs):
    early = dt.datetime(2025, 12, 20, tzinfo=UTC)
    with regions.session() as s:
        report = start_year(s, defs, YEAR, province="19", now=early)
    assert report.opened == 0
    with regions.session() as s:
        task = find_task(s, "19.01.01", "dukungan_regulasi", YEAR)
        assert task.state == "locked"
        v = view(s, task, now=early)
        assert [(b.kind, b.opens_at) for b in v.blockers] == \
            [("opens", dt.datetime(2025, 12, 31, 17, 0, tzinfo=UTC))]
        assert v.as_dict()["blockers"][0]["opens_at"] == "2025-12-31T17:00:00+00:00"


def test_kabkota_started_after_its_kecamatan_are_done_opens_at_start(regions, defs):
    with regions.session() as s:
        start_year(s, defs, YEAR, province="19", levels=["kecamatan"], now=NOW)
        add_standard_users(s, defs)
    with regions.session() as s:
        for code in BANGKA_KECAMATAN:
            walk_to_done(s, code, STAGE)
    with regions.session() as s:
        report = start_year(s, defs, YEAR, province="19", levels=["kabkota"], now=NOW)
    with regions.session() as s:
        assert find_task(s, KABUPATEN_BANGKA, STAGE, YEAR).state == "ready"
        assert find_task(s, "19.02", STAGE, YEAR).state == "locked"
    # 7 kab/kota x (dukungan_regulasi, publikasi) + Kabupaten Bangka's analisis_situasi
    assert report.opened == 7 * 2 + 1


def test_reopened_child_notifies_the_opened_parent(started):
    with started.session() as s:
        for code in BANGKA_KECAMATAN:
            walk_to_done(s, code, STAGE)
        assert parent_state(s) == "ready"
    later = NOW + dt.timedelta(days=1)
    with started.session() as s:
        act_on(s, "19.01.04", STAGE, YEAR, "reopen", user("supervisor", "19.01"),
               reason="data sasaran keliru", now=later)
    with started.session() as s:
        parent = find_task(s, KABUPATEN_BANGKA, STAGE, YEAR)
        assert (parent.state, parent.version) == ("ready", 2)  # kabkota: on_child_reopened notify
        evs = task_events(s, parent.id)
        assert [(e.kind, e.actor, e.from_state, e.to_state) for e in evs] == [
            ("open", "system", "locked", "ready"),
            ("child_reopened", user("supervisor", "19.01"), "ready", "ready")]
        assert evs[-1].payload == {"child_region": "19.01.04", "child_stage": STAGE,
                                   "child_state": "reopened", "reason": "data sasaran keliru"}
        assert evs[-1].at == later
    # approving the child again does not open the parent a second time
    with started.session() as s:
        r = walk_to_done(s, "19.01.04", STAGE, now=later)
    assert r.opened == []
    with started.session() as s:
        parent = find_task(s, KABUPATEN_BANGKA, STAGE, YEAR)
        assert [e.kind for e in task_events(s, parent.id)] == ["open", "child_reopened"]
        assert s.scalar(select(Event.id).where(Event.kind == "relocked")) is None
