"""A four-tier definition set (tests/fixtures/four_tiers: provinsi down to desa, NOT the
juknis) on the same engine: year start, a kecamatan stage gated on 80 % of its desa,
a desa stage's reminder, the desa clerk's task list."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import func, select

from engine.worker.tick import tick
from engine.definitions import load
from engine.people import add_user
from engine.regions import load_regions
from engine.runtime import act_on, find_task, list_tasks, start_year, view
from engine.runtime.counters import recount
from engine.runtime.inbox import inbox_for
from engine.people.users import actor as actor_for
from engine.store.models import Case, Event, InboxItem, ProgressCount, Region, Task

from .support import REPO, UTC, YEAR

FOUR = REPO / "tests" / "fixtures" / "four_tiers" / "workflows"
FEB = dt.datetime(2026, 2, 10, 3, 0, tzinfo=UTC)  # census open since 1 Jan, recap since 1 Feb
PASSWORD = "rahasia-empat-123"


@pytest.fixture(scope="module")
def four():
    return load(FOUR)


def _kecamatan(s) -> tuple[str, list[str]]:
    """A kecamatan of province 19 with at least six desa, and its desa."""
    for kec in s.scalars(select(Region.code).where(Region.tier == 3).order_by(Region.code)):
        desa = s.scalars(select(Region.code).where(Region.parent_code == kec)
                         .order_by(Region.code)).all()
        if len(desa) >= 6:
            return kec, list(desa)
    raise AssertionError("no kecamatan with six desa in province 19")


def _setup(db, four):
    with db.session() as s:
        load_regions(s, "19")  # with desa: tier 4
        report = start_year(s, four, YEAR, province="19", now=FEB)
        kec, desa = _kecamatan(s)
        for code in desa:
            for role in ("clerk", "head"):
                add_user(s, four, f"{role}@{code}", role=role, region=code, now=FEB,
                         password=PASSWORD if code == desa[0] else None)
        for role in ("clerk", "head", "overseer"):
            add_user(s, four, f"{role}@{kec}", role=role, region=kec, now=FEB)
    return report, kec, desa


def _accept_census(s, code, now=FEB):
    act_on(s, code, "census", YEAR, "file", f"clerk@{code}",
           data={"village_census": {"isian": {"jumlah_keluarga": 120}}}, now=now)
    return act_on(s, code, "census", YEAR, "accept", f"head@{code}", now=now)


def test_year_start_makes_a_case_per_region_of_every_tier(db, four):
    report, kec, desa = _setup(db, four)
    with db.session() as s:
        per_tier = dict(s.execute(select(Region.tier, func.count()).where(
            (Region.code == "19") | Region.code.startswith("19.")).group_by(Region.tier)).all())
        assert per_tier[4] > 300  # Bangka Belitung's desa and kelurahan
        assert report.cases == {"village": per_tier[4], "subdistrict": per_tier[3],
                                "regency": per_tier[2], "province": 1}
        assert report.tasks == 2 * per_tier[4] + 2 * per_tier[3] + per_tier[2] + 1
        cases = dict(s.execute(select(Case.level, func.count()).group_by(Case.level)).all())
        assert cases == report.cases
        # The desa's census opened at year start (its day came); its report waits.
        states = dict(s.execute(select(Task.stage, Task.state).where(
            Task.region_code == desa[0])).all())
        assert states == {"census": "open", "report": "closed"}
        census = find_task(s, desa[0], "census", YEAR)
        assert (census.level, census.parent_code) == ("village", kec)
        # The kecamatan recap counts its desa: none accepted yet.
        recap = find_task(s, kec, "recap", YEAR)
        (b,) = view(s, recap, now=FEB).blockers
        assert (b.kind, b.level, b.have, b.total) == ("waits_for", "village", 0, len(desa))
        # The progress counters of year start are what a recount from the tasks gives.
        kept = sorted(s.execute(select(ProgressCount.area, ProgressCount.level,
                                       ProgressCount.stage, ProgressCount.state,
                                       ProgressCount.count)).all())
        village: dict[str, int] = {}  # summed over the provinsi's shards, as readers do
        for area, level, stage, state, n in kept:
            if level == "village" and stage == "census":
                village[area] = village.get(area, 0) + n
        assert village["19"] == per_tier[4]
        assert kec not in village  # a kecamatan keeps no counters (AREA_TIERS)
    with db.session() as s:
        recount(s)  # written at the transaction's end
    with db.session() as s:
        assert sorted(s.execute(select(ProgressCount.area, ProgressCount.level,
                                       ProgressCount.stage, ProgressCount.state,
                                       ProgressCount.count)).all()) == kept
    with db.session() as s:
        again = start_year(s, four, YEAR, province="19", now=FEB)
    assert sum(again.cases.values()) == 0 and again.skipped == report.cases


def test_kecamatan_stage_opens_at_eighty_percent_of_its_desa(db, four):
    _, kec, desa = _setup(db, four)
    need = -(-80 * len(desa) // 100)
    assert 1 < need < len(desa)
    for n, code in enumerate(desa[:need], start=1):
        with db.session() as s:
            result = _accept_census(s, code)
        with db.session() as s:
            recap = find_task(s, kec, "recap", YEAR)
            if n < need:
                assert result.opened == [] and recap.state == "closed"
                (b,) = view(s, recap, now=FEB).blockers
                assert (b.have, b.need, b.total) == (n, need, len(desa))
                assert b.regions == desa[n:]  # the desa not yet accepted, by code
            else:
                assert result.opened == [{"region": kec, "level": "subdistrict",
                                          "stage": "recap", "state": "open"}]
                assert recap.state == "open"
                assert view(s, recap, now=FEB).blockers == []
    with db.session() as s:
        recap = find_task(s, kec, "recap", YEAR)
        assert [(e.kind, e.actor) for e in s.scalars(select(Event).where(
            Event.task_id == recap.id).order_by(Event.id))] == [("open", "system")]
        # Its form still has a row per desa: the recap takes every desa of the kecamatan.
        r = act_on(s, kec, "recap", YEAR, "file", f"clerk@{kec}", now=FEB, data={
            "subdistrict_recap": {"desa": {c: {"jumlah_keluarga": 1} for c in desa}}})
        assert r.to_state == "filed"


def test_desa_reminder_fires_once_to_the_desa_clerk(db, four):
    _, kec, desa = _setup(db, four)
    # census is due 28 February 2026 (WIB): the 3-day reminder is 25 February, 08:00 WIB.
    before = dt.datetime(2026, 2, 25, 0, 59, tzinfo=UTC)
    moment = dt.datetime(2026, 2, 25, 1, 0, tzinfo=UTC)

    def reminders():
        with db.session() as s:
            return s.execute(select(InboxItem.role, InboxItem.region_code).join(
                Task, Task.id == InboxItem.task_id).where(
                Task.region_code == desa[0], Task.stage == "census")).all()

    tick(db, before)
    assert reminders() == []
    report = tick(db, moment)
    assert report.reminders >= len(desa)
    assert reminders() == [("clerk", desa[0])]
    tick(db, moment + dt.timedelta(hours=1))
    assert reminders() == [("clerk", desa[0])]  # once
    with db.session() as s:
        items = inbox_for(s, actor_for(s, f"clerk@{desa[0]}"))
        assert [(i["task"]["stage"], i["role_name"], i["kind"]) for i in items] == [
            ("census", "Village Clerk", "reminder")]
        assert inbox_for(s, actor_for(s, f"head@{desa[0]}")) == []
        # A desa accepted before the moment gets none (every other desa got one).
        assert s.scalar(select(func.count()).select_from(InboxItem).join(
            Task, Task.id == InboxItem.task_id).where(
            Task.level == "village", Task.parent_code == kec)) == len(desa)


def test_desa_clerks_task_list(db, four):
    _, kec, desa = _setup(db, four)
    with db.session() as s:
        clerk = actor_for(s, f"clerk@{desa[0]}")
        mine = list_tasks(s, user=clerk, year=YEAR, actionable=True, now=FEB)
        assert [(v.region, v.stage, [t["trigger"] for t in v.triggers]) for v in mine] == [
            (desa[0], "census", ["file"])]
        seen = list_tasks(s, user=clerk, year=YEAR, now=FEB)
        assert {(v.region, v.stage) for v in seen} == {(desa[0], "census"), (desa[0], "report")}
        # The kecamatan overseer sees its desa's stages below it.
        overseer = actor_for(s, f"overseer@{kec}")
        below = {v.region for v in list_tasks(s, user=overseer, year=YEAR, now=FEB)}
        assert below == {kec, *desa}


def test_desa_clerks_task_list_page(db, four):
    from engine.web import create_app

    _, kec, desa = _setup(db, four)
    with db.session() as s:
        name = s.scalar(select(Region.name).where(Region.code == desa[0]))
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "test", "TESTING": True})
    try:
        with time_machine.travel(FEB, tick=False):
            client = app.test_client()
            page = client.get("/masuk")
            token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.data).group(1)
            signed = client.post("/masuk", data={"username": f"clerk@{desa[0]}",
                                                 "password": PASSWORD,
                                                 "csrf_token": token.decode()})
            assert signed.status_code == 302
            listing = client.get(f"/tugas?tahun={YEAR}")
            assert listing.status_code == 200
            text = listing.get_data(as_text=True)
            assert f"/tugas/{YEAR}/{desa[0]}/census" in text
            assert f"/tugas/{YEAR}/{desa[0]}/report" not in text  # closed: no work yet
            assert '<option value="village">Desa/Kelurahan</option>' in text  # level filter
            stage = client.get(f"/tugas/{YEAR}/{desa[0]}/census")
            assert stage.status_code == 200
            body = stage.get_data(as_text=True)
            assert "Village Census" in body and desa[0] in body and name in body
    finally:
        app.extensions["aksi.db"].dispose()


def test_the_kecamatan_dashboard_shows_its_desa(db, four):
    """The dashboard of a kecamatan lists its desa as children with their own stages'
    progress (read from the tasks: counters are kept for provinsi and kab/kota only)."""
    import json

    from engine.web import create_app

    _, kec, desa = _setup(db, four)
    with db.session() as s:
        add_user(s, four, f"watch@{kec}", role="overseer", region=kec, now=FEB,
                 password=PASSWORD)
        for code in desa[:3]:
            _accept_census(s, code)
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "test", "TESTING": True})
    try:
        with time_machine.travel(FEB, tick=False):
            client = app.test_client()
            page = client.get("/masuk")
            token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.data).group(1)
            assert client.post("/masuk", data={"username": f"watch@{kec}", "password": PASSWORD,
                                               "csrf_token": token.decode()}).status_code == 302
            board = client.get(f"/pantau/{YEAR}/{kec}.json")
            assert board.status_code == 200, board.get_data(as_text=True)[:500]
            data = board.get_json()
            html = client.get(f"/pantau/{YEAR}/{kec}")
            assert html.status_code == 200
    finally:
        app.extensions["aksi.db"].dispose()
    text = json.dumps(data)
    assert all(code in text for code in desa)  # every desa is a child row
    children = {c["code"]: c for c in data["children"]}
    assert set(children) == set(desa)
    assert all(children[c]["level"] == "village" for c in desa)
    assert [children[c]["stages"]["census"]["done"] for c in desa[:4]] == [True, True, True, False]
    assert [children[c]["progress"]["done"] for c in desa[:4]] == [1, 1, 1, 0]
