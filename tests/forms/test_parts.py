"""A stage split into parts by unit, on every backend: each unit's operator owns its fields,
saves and submits its part; each unit's verifikator verifies or returns it; the stage
follows its parts; the Camat approves the whole. Saves of different units never conflict."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import threading

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, InvalidForm, InvalidTrigger, NotPermitted, Refused
from engine.forms.entry import context_for, stage_documents
from engine.forms.parts import parts_of
from engine.forms.sample import sample_document
from engine.people import add_user
from engine.runtime import act_on, find_task, save_on, start_year
from engine.store.library import pinned
from engine.store import Database
from engine.store.models import Event
from runtime.conftest import juknis_defs, regions  # noqa: F401

UTC = dt.timezone.utc
YEAR = 2026
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
KEC = "19.01.01"
STAGE = "analisis_situasi"
FORM = "kec_analisis_situasi"
UNITS = ("Setcam", "Puskesmas", "PLKB")
D1, D2 = f"{KEC}.1001", f"{KEC}.1002"  # kelurahan Sungailiat and Sri Menanti


def name(role: str, unit: str | None = None) -> str:
    return f"{role}-{unit.lower()}@{KEC}" if unit else f"{role}@{KEC}"


@pytest.fixture
def year(regions, juknis_defs):  # noqa: F811
    with regions.session() as s:
        start_year(s, juknis_defs, YEAR, province="19", now=NOW)
        for unit in UNITS:
            for role in ("operator", "verifikator"):
                add_user(s, juknis_defs, name(role, unit), role=role, region=KEC, unit=unit, now=NOW)
        add_user(s, juknis_defs, name("approver"), role="approver", region=KEC, now=NOW)
        add_user(s, juknis_defs, name("operator"), role="operator", region=KEC, now=NOW)
    return regions


def part_of(db: Database, unit: str, seed: int = 1) -> dict:
    """A plausible part: the fields ``unit`` owns, for every desa of the kecamatan."""
    with db.session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        definition = pinned(s, task.definition_hash)
        ctx = context_for(s, definition, task)
        whole = sample_document(definition, FORM, ctx, rng=random.Random(seed))
    spec_units = {unit}
    from engine.definitions.forms.spec import spec_of

    spec = spec_of(definition, FORM)
    out: dict = {}
    for section in spec.sections:
        value = whole.get(section.name)
        owned = {f.name for f in section.fields if f.unit in spec_units}
        if not owned or value is None:
            continue
        if isinstance(value, dict) and section.kind == "per_region":
            out[section.name] = {code: {k: v for k, v in row.items() if k in owned}
                                 for code, row in value.items()}
        elif isinstance(value, list):
            out[section.name] = value
        else:
            out[section.name] = {k: v for k, v in value.items() if k in owned}
    return {FORM: out}


def events(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Event))


def state(db: Database) -> tuple[str, dict]:
    with db.session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        return task.state, {u: p.state for u, p in parts_of(s, task.id).items()}


def test_an_operator_writes_only_the_fields_of_their_unit(year):
    setcam_field = {FORM: {"desa": {D1: {"jumlah_penduduk": 100}}}}
    with year.session() as s:
        with pytest.raises(NotPermitted) as refused:
            save_on(s, KEC, STAGE, YEAR, name("operator", "Puskesmas"), setcam_field, now=NOW)
    assert "«Jumlah Penduduk» (milik Setcam)" in refused.value.message
    with year.session() as s:
        with pytest.raises(NotPermitted):  # an operator with no unit cannot fill a parted stage
            save_on(s, KEC, STAGE, YEAR, name("operator"), setcam_field, now=NOW)
        with pytest.raises(NotPermitted):  # nor a verifikator
            save_on(s, KEC, STAGE, YEAR, name("verifikator", "Setcam"), setcam_field, now=NOW)
    with year.session() as s:
        assert parts_of(s, find_task(s, KEC, STAGE, YEAR).id) == {}
        saved = save_on(s, KEC, STAGE, YEAR, name("operator", "Setcam"), setcam_field, now=NOW)
    assert (saved.unit, saved.version) == ("Setcam", 1)


def test_a_draft_may_be_incomplete_but_not_of_the_wrong_type(year):
    with year.session() as s:
        with pytest.raises(InvalidForm) as refused:
            save_on(s, KEC, STAGE, YEAR, name("operator", "Setcam"),
                    {FORM: {"desa": {D1: {"jumlah_penduduk": "seribu"}}}}, now=NOW)
    assert any("«Jumlah Penduduk»: harus bilangan bulat, bukan 'seribu'" in p
               for p in refused.value.problems)
    with year.session() as s:
        assert parts_of(s, find_task(s, KEC, STAGE, YEAR).id) == {}


def test_parts_move_on_their_own_and_the_stage_follows(year):
    parts = {unit: part_of(year, unit) for unit in UNITS}
    for unit in UNITS:
        with year.session() as s:
            save_on(s, KEC, STAGE, YEAR, name("operator", unit), parts[unit], now=NOW)
    assert state(year) == ("ready", {u: "ready" for u in UNITS})
    with year.session() as s:
        act_on(s, KEC, STAGE, YEAR, "submit", name("operator", "Puskesmas"), now=NOW)
        act_on(s, KEC, STAGE, YEAR, "submit", name("operator", "Setcam"), now=NOW)
    assert state(year) == ("ready", {"Setcam": "submitted", "Puskesmas": "submitted",
                                     "PLKB": "ready"})
    with year.session() as s:  # a verifikator checks their unit's part only
        act_on(s, KEC, STAGE, YEAR, "verify", name("verifikator", "Puskesmas"), now=NOW)
        with pytest.raises(InvalidTrigger):
            act_on(s, KEC, STAGE, YEAR, "verify", name("verifikator", "PLKB"), now=NOW)
    with year.session() as s:
        act_on(s, KEC, STAGE, YEAR, "submit", name("operator", "PLKB"), now=NOW)
    assert state(year) == ("submitted", {"Setcam": "submitted", "Puskesmas": "verified",
                                         "PLKB": "submitted"})
    with year.session() as s:
        act_on(s, KEC, STAGE, YEAR, "verify", name("verifikator", "Setcam"), now=NOW)
        act_on(s, KEC, STAGE, YEAR, "return", name("verifikator", "PLKB"),
               reason="Data catin desa Air Anyir belum sesuai", now=NOW)
    assert state(year) == ("returned", {"Setcam": "verified", "Puskesmas": "verified",
                                        "PLKB": "returned"})
    with year.session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        assert parts_of(s, task.id)["PLKB"].note == "Data catin desa Air Anyir belum sesuai"
        with pytest.raises(Refused):  # a verified part cannot be edited
            save_on(s, KEC, STAGE, YEAR, name("operator", "Setcam"),
                    {FORM: {"desa": {D1: {"jumlah_penduduk": 1}}}}, now=NOW)
    again = part_of(year, "PLKB")  # the same values, fixed and saved again
    with year.session() as s:  # the returned part goes back alone and comes back
        save_on(s, KEC, STAGE, YEAR, name("operator", "PLKB"), again, now=NOW)
        act_on(s, KEC, STAGE, YEAR, "submit", name("operator", "PLKB"), now=NOW)
    assert state(year) == ("submitted", {"Setcam": "verified", "Puskesmas": "verified",
                                         "PLKB": "submitted"})
    with year.session() as s:
        assert parts_of(s, find_task(s, KEC, STAGE, YEAR).id)["PLKB"].note is None
        act_on(s, KEC, STAGE, YEAR, "verify", name("verifikator", "PLKB"), now=NOW)
    assert state(year) == ("verified", {u: "verified" for u in UNITS})
    with year.session() as s:
        done = act_on(s, KEC, STAGE, YEAR, "approve", name("approver"), now=NOW)
    assert done.to_state == "approved"
    assert state(year) == ("approved", {u: "approved" for u in UNITS})
    with year.session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        events = s.scalars(select(Event).where(Event.task_id == task.id,
                                               Event.kind == "return")).all()
        assert [(e.payload["units"], e.payload["reason"]) for e in events] == [
            (["PLKB"], "Data catin desa Air Anyir belum sesuai")]


def test_a_part_with_problems_is_refused_and_nothing_changes(year):
    part = part_of(year, "Puskesmas")
    row = part[FORM]["desa"][D1]
    row["bumil_kek_makanan_tambahan"] = row["jumlah_ibu_hamil_kek"] + 5
    del part[FORM]["desa"][D2]
    with year.session() as s:
        save_on(s, KEC, STAGE, YEAR, name("operator", "Puskesmas"), part, now=NOW)  # a draft
    before = (state(year), events(year))
    with year.session() as s:
        with pytest.raises(InvalidForm) as refused:
            act_on(s, KEC, STAGE, YEAR, "submit", name("operator", "Puskesmas"), now=NOW)
    problems = refused.value.problems
    assert any(p.startswith(f"Kelurahan Sungailiat ({D1}): «Jumlah Ibu hamil KEK mendapat "
                            "Makanan Tambahan»") for p in problems)
    assert any(f"({D2})" in p and "belum diisi" in p for p in problems)
    assert not any("«Jumlah Penduduk»" in p for p in problems)  # Setcam's, not Puskesmas'
    assert (state(year), events(year)) == before


def test_the_camat_may_return_one_unit_or_every_part(year):
    parts = {unit: part_of(year, unit) for unit in UNITS}
    for unit in UNITS:
        with year.session() as s:
            save_on(s, KEC, STAGE, YEAR, name("operator", unit), parts[unit], now=NOW)
            act_on(s, KEC, STAGE, YEAR, "submit", name("operator", unit), now=NOW)
            act_on(s, KEC, STAGE, YEAR, "verify", name("verifikator", unit), now=NOW)
    with year.session() as s:
        act_on(s, KEC, STAGE, YEAR, "return", name("approver"), unit="Setcam",
               reason="Data penduduk belum mutakhir", now=NOW)
    assert state(year) == ("returned", {"Setcam": "returned", "Puskesmas": "verified",
                                        "PLKB": "verified"})
    with year.session() as s:
        act_on(s, KEC, STAGE, YEAR, "submit", name("operator", "Setcam"), now=NOW)
        act_on(s, KEC, STAGE, YEAR, "verify", name("verifikator", "Setcam"), now=NOW)
        act_on(s, KEC, STAGE, YEAR, "return", name("approver"), reason="Ulangi semua", now=NOW)
    assert state(year) == ("returned", {u: "returned" for u in UNITS})


def test_a_part_returned_while_the_stage_stays_tells_its_operators(year):
    """One unit's part sent back while the others are still being filled in leaves the
    stage where it is; its operators are told all the same (inbox, and the event names the
    notice, so e-mail follows), each such return with its own notice."""
    from engine.people import actor
    from engine.runtime.inbox import inbox_for
    from engine.runtime.reads import holders
    from engine.store.models import Notice, User

    puskesmas = part_of(year, "Puskesmas")
    with year.session() as s:
        save_on(s, KEC, STAGE, YEAR, name("operator", "Puskesmas"), puskesmas, now=NOW)
        act_on(s, KEC, STAGE, YEAR, "submit", name("operator", "Puskesmas"), now=NOW)
    with year.session() as s:
        act_on(s, KEC, STAGE, YEAR, "return", name("verifikator", "Puskesmas"),
               reason="Data gizi desa belum lengkap", now=NOW)
    assert state(year) == ("ready", {"Puskesmas": "returned"})
    with year.session() as s:
        items = inbox_for(s, actor(s, name("operator", "Puskesmas")))
        assert [i["kind"] for i in items] == ["sent_back"]
        assert items[0]["message"].startswith("Kembalikan oleh verifikator-puskesmas@19.01.01: "
                                              "bagian Puskesmas pada tahap 'Analisis Situasi'")
        assert "Data gizi desa belum lengkap" in items[0]["message"]
        assert inbox_for(s, actor(s, name("verifikator", "Setcam"))) == []  # not waited for
        # The other units' operators are not told of the Puskesmas' part; an operator
        # holding the role for no unit is (what their inbox shows, what e-mail sends).
        assert inbox_for(s, actor(s, name("operator", "Setcam"))) == []
        assert inbox_for(s, actor(s, name("operator", "PLKB"))) == []
        assert [i["kind"] for i in inbox_for(s, actor(s, name("operator")))] == ["sent_back"]
        event = s.scalars(select(Event).where(Event.kind == "return")).one()
        notice = s.get(Notice, event.payload["notice"])
        assert (notice.kind, notice.status) == ("sent_back", "fired")
        assert event.payload["recipients"] == [{"role": "operator", "region": KEC,
                                                "units": ["Puskesmas"]}]
        told = [s.get(User, u).username for _, u in holders(s, [notice.id])]
        assert sorted(told) == sorted([name("operator"), name("operator", "Puskesmas")])
    with year.session() as s:  # answered, returned again: a second notice of its own
        act_on(s, KEC, STAGE, YEAR, "submit", name("operator", "Puskesmas"), now=NOW)
        act_on(s, KEC, STAGE, YEAR, "return", name("verifikator", "Puskesmas"),
               reason="Masih kurang", now=NOW)
    with year.session() as s:
        rules = s.scalars(select(Notice.rule).where(Notice.kind == "sent_back")
                          .order_by(Notice.id)).all()
        assert rules == [-1, -2]
        assert len(inbox_for(s, actor(s, name("operator", "Puskesmas")))) == 2


def test_three_units_saving_at_once_lose_nothing(year):
    parts = {unit: part_of(year, unit) for unit in UNITS}
    barrier = threading.Barrier(len(UNITS))
    failures = []

    def save(unit: str) -> None:
        try:
            barrier.wait()
            with year.session() as s:
                save_on(s, KEC, STAGE, YEAR, name("operator", unit), parts[unit], now=NOW)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=save, args=(u,)) for u in UNITS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with year.session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        saved = parts_of(s, task.id)
        assert {u: p.data for u, p in saved.items()} == parts
        merged = stage_documents(s, pinned(s, task.definition_hash), task)[FORM]
    for unit, part in parts.items():
        for code, row in part[FORM]["desa"].items():
            assert {k: merged["desa"][code][k] for k in row} == row


def test_two_saves_of_one_part_race_with_a_conflict(year):
    with year.session() as s:
        first = save_on(s, KEC, STAGE, YEAR, name("operator", "Setcam"),
                        {FORM: {"desa": {D1: {"jumlah_penduduk": 100}}}}, now=NOW)
    with year.session() as s:  # both saw version 1; the first to write wins
        save_on(s, KEC, STAGE, YEAR, name("operator", "Setcam"),
                {FORM: {"desa": {D1: {"jumlah_penduduk": 200}}}},
                expected_version=first.version, now=NOW)
    with year.session() as s:
        with pytest.raises(Conflict):
            save_on(s, KEC, STAGE, YEAR, name("operator", "Setcam"),
                    {FORM: {"desa": {D1: {"jumlah_penduduk": 300}}}},
                    expected_version=first.version, now=NOW)
    with year.session() as s:
        part = parts_of(s, find_task(s, KEC, STAGE, YEAR).id)["Setcam"]
        assert (part.version, part.data[FORM]["desa"][D1]["jumlah_penduduk"]) == (2, 200)


def _save_in_process(url: str, unit: str, data: dict, barrier, results) -> None:
    db = Database(url)
    try:
        barrier.wait(timeout=60)
        with db.session() as s:
            save_on(s, KEC, STAGE, YEAR, name("operator", unit), data, now=NOW)
        results.put((unit, "ok"))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        results.put((unit, repr(exc)))
    finally:
        db.dispose()


def test_three_processes_saving_at_once_lose_nothing(year):
    parts = {unit: part_of(year, unit) for unit in UNITS}
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(UNITS)), ctx.Queue()
    procs = [ctx.Process(target=_save_in_process, args=(year.url, u, parts[u], barrier, results))
             for u in UNITS]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    outcomes = dict(results.get(timeout=10) for _ in UNITS)
    assert outcomes == {u: "ok" for u in UNITS}
    with year.session() as s:
        saved = parts_of(s, find_task(s, KEC, STAGE, YEAR).id)
        assert {u: p.data for u, p in saved.items()} == parts


def test_a_return_of_every_part_is_one_message_for_each_reader(year):
    """The Camat returning every part addresses the operators of each unit; one who holds
    the role for no unit sees, counts and marks one message, as each unit's operator does."""
    from engine.people import actor
    from engine.runtime.inbox import inbox_for
    from engine.runtime.reads import mark_read, unread_count

    parts = {unit: part_of(year, unit) for unit in UNITS}
    for unit in UNITS:
        with year.session() as s:
            save_on(s, KEC, STAGE, YEAR, name("operator", unit), parts[unit], now=NOW)
            act_on(s, KEC, STAGE, YEAR, "submit", name("operator", unit), now=NOW)
            act_on(s, KEC, STAGE, YEAR, "verify", name("verifikator", unit), now=NOW)
    with year.session() as s:
        act_on(s, KEC, STAGE, YEAR, "return", name("approver"), reason="Ulangi semua", now=NOW)
    with year.session() as s:
        event = s.scalars(select(Event).where(Event.kind == "return")).one()
        assert event.payload["recipients"] == [{"role": "operator", "region": KEC,
                                                "units": sorted(UNITS)}]
        for unit in UNITS:
            assert [i["units"] for i in inbox_for(s, actor(s, name("operator", unit)))] == \
                [sorted(UNITS)]
        anyone = actor(s, name("operator"))
        assert len(inbox_for(s, anyone)) == 1 and unread_count(s, anyone) == 1
        assert mark_read(s, anyone, up_to=10**9, now=NOW) == 1
    with year.session() as s:
        assert unread_count(s, actor(s, name("operator"))) == 0
        # Each unit's operator still has their own unread.
        assert unread_count(s, actor(s, name("operator", "PLKB"))) == 1
