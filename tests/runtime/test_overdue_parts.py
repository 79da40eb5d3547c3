"""Whose turn in a stage split into parts (runtime/overdue.py), the unit filter, and
Ingatkan reaching each waited-for role once (runtime/nudges.py), with the juknis
definitions as shipped (kecamatan "Analisis Situasi" has parts Setcam, Puskesmas, PLKB)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.errors import NotPermitted, Refused
from engine.people import actor, add_user
from engine.runtime import start_year
from engine.runtime.inbox import inbox_for
from engine.runtime.nudges import nudge
from engine.runtime.overdue import Filters, overdue
from engine.store.models import Event, FormPart, InboxItem, Task

from .support import NOW, YEAR

JAN_20 = dt.datetime(2026, 1, 20, 3, 0, tzinfo=dt.timezone.utc)
KEC = "19.01.01"
STAGE = "analisis_situasi"


@pytest.fixture
def juknis_year(regions, juknis_defs):
    with regions.session() as s:
        start_year(s, juknis_defs, YEAR, province="19", now=NOW)
        add_user(s, juknis_defs, "pengawas", role="supervisor", region="19.01", now=NOW)
        add_user(s, juknis_defs, "camat", role="approver", region=KEC, now=NOW)
        add_user(s, juknis_defs, "op-pkm", role="operator", region=KEC, unit="Puskesmas", now=NOW)
        add_user(s, juknis_defs, "op-setcam", role="operator", region=KEC, unit="Setcam", now=NOW)
        add_user(s, juknis_defs, "ver-setcam", role="verifikator", region=KEC, unit="Setcam",
                 display_name="Siti Verifikator", now=NOW)
        add_user(s, juknis_defs, "ver-plkb", role="verifikator", region=KEC, unit="PLKB", now=NOW)
        task = s.scalar(select(Task).where(Task.region_code == KEC, Task.stage == STAGE))
        for unit, state in (("Setcam", "submitted"), ("PLKB", "verified")):
            s.add(FormPart(task_id=task.id, unit=unit, state=state, data={}, version=1,
                           updated_at=NOW, updated_by="op"))
    return regions


def test_each_units_part_says_whose_turn(juknis_year):
    with juknis_year.session() as s:
        page = overdue(s, actor(s, "pengawas"), Filters(year=YEAR, area=KEC), now=JAN_20)
        row = next(r for r in page.rows if r.stage == STAGE)
        waiting = {(w.role, w.unit): [h.username for h in w.holders] for w in row.waiting}
        # Setcam submitted: its verifikator; Puskesmas has no part yet: its operator;
        # PLKB verified: nobody until every part is verified (then the Camat approves).
        assert waiting == {("verifikator", "Setcam"): ["ver-setcam"],
                           ("operator", "Puskesmas"): ["op-pkm"]}
        names = {w.role_name for w in row.waiting}
        assert names == {"Verifikator Kecamatan", "Operator Kecamatan"}
        holder = next(w for w in row.waiting if w.unit == "Setcam").holders[0]
        assert holder.display_name == "Siti Verifikator"
        data = page.as_dict()  # the JSON twin the API serves
        assert data["total"] == page.total and data["rows"][0]["days_late"] == 5
        first = next(r for r in data["rows"] if r["stage"] == STAGE)
        assert {(w["role"], w["unit"]) for w in first["waiting_for"]} == set(waiting)


def test_unit_filter_keeps_stages_whose_part_of_that_unit_is_waited_for(juknis_year):
    with juknis_year.session() as s:
        sup = actor(s, "pengawas")

        def regions(unit):
            rows = overdue(s, sup, Filters(year=YEAR, stage=STAGE, unit=unit), now=JAN_20).rows
            return {r.region_code for r in rows}

        everywhere = {f"19.01.{i:02d}" for i in range(1, 9)}
        assert regions(None) == everywhere
        assert regions("Setcam") == everywhere  # submitted: waits for its verifikator
        assert regions("PLKB") == everywhere - {KEC}  # verified: nothing to do for PLKB now
        assert regions("Dinas Kesehatan") == set()


def test_nudge_reaches_the_waited_for_roles_once_a_day(juknis_year):
    with juknis_year.session() as s:
        done = nudge(s, actor(s, "camat"), region=KEC, stage=STAGE, year=YEAR, now=JAN_20)
        assert done.days_late == 5
    with juknis_year.session() as s:
        items = s.execute(select(InboxItem.role, InboxItem.region_code, InboxItem.units)
                          .order_by(InboxItem.role)).all()
        assert items == [("operator", KEC, "|Puskesmas|"), ("verifikator", KEC, "|Setcam|")]
        # Each unit's holders are told of their own part only.
        assert [i["kind"] for i in inbox_for(s, actor(s, "op-pkm"))] == ["nudge"]
        assert [i["kind"] for i in inbox_for(s, actor(s, "ver-setcam"))] == ["nudge"]
        assert inbox_for(s, actor(s, "op-setcam")) == []  # its part is submitted already
        assert inbox_for(s, actor(s, "ver-plkb")) == []  # verified: nothing to do
        event = s.scalar(select(Event).where(Event.kind == "nudge"))
        assert event.payload["units"] == ["Puskesmas", "Setcam"] and event.actor == "camat"
    with pytest.raises(Refused, match="sudah diingatkan hari ini"):
        with juknis_year.session() as s:
            nudge(s, actor(s, "pengawas"), region=KEC, stage=STAGE, year=YEAR,
                  now=JAN_20 + dt.timedelta(hours=5))
    with pytest.raises(NotPermitted):
        with juknis_year.session() as s:
            nudge(s, actor(s, "op-pkm"), region=KEC, stage=STAGE, year=YEAR, now=JAN_20)
    with pytest.raises(NotPermitted):  # a Camat of 19.01.01 does not chase 19.01.02
        with juknis_year.session() as s:
            nudge(s, actor(s, "camat"), region="19.01.02", stage=STAGE, year=YEAR, now=JAN_20)
    with juknis_year.session() as s:
        assert s.query(InboxItem).count() == 2
