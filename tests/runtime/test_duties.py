"""Separation of duties (`not_by` in the lifecycle), on every backend: one person holding
operator, verifikator and approver cannot verify what they submitted nor approve what they
submitted or verified - in a stage with parts and in one without; two or three people can;
a refusal changes nothing; the stage page does not offer the refused button."""

from __future__ import annotations

import re

import pytest
import time_machine

from engine.errors import NotPermitted
from engine.forms.parts import parts_of
from engine.people import actor, add_user
from engine.runtime import act_on, find_task, save_on, start_year, view
from engine.runtime.duties import barring
from engine.web import create_app
from forms.test_parts import KEC, UNITS, part_of

from .support import NOW, YEAR, event_count, user

STAGE = "analisis_situasi"
ALONE = f"sendiri@{KEC}"  # one person with every role of the kecamatan
PASSWORD = "rahasia-123"


def snapshot(db):
    with db.session() as s:
        t = find_task(s, KEC, STAGE, YEAR)
        return (t.state, t.version, {u: (p.state, p.version) for u, p in parts_of(s, t.id).items()},
                event_count(s))


def refused(db, trigger: str, username: str, **kwargs) -> str:
    """Fire ``trigger``, expect the duties' refusal, check nothing changed; its message."""
    before = snapshot(db)
    with db.session() as s:
        with pytest.raises(NotPermitted) as caught:
            act_on(s, KEC, STAGE, YEAR, trigger, username, now=NOW, **kwargs)
    assert snapshot(db) == before
    assert "pemisahan tugas" in caught.value.message
    return caught.value.message


def fire(db, trigger: str, username: str, **kwargs):
    with db.session() as s:
        return act_on(s, KEC, STAGE, YEAR, trigger, username, now=NOW, **kwargs)


# --- a stage without parts ------------------------------------------------------------------

@pytest.fixture
def alone(started, defs):
    with started.session() as s:
        for role in ("operator", "verifikator", "approver"):
            add_user(s, defs, ALONE, role=role, region=KEC, password=PASSWORD, now=NOW)
    return started


def test_one_person_cannot_verify_what_they_submitted(alone):
    fire(alone, "submit", ALONE)
    message = refused(alone, "verify", ALONE)
    assert message == (f"{ALONE} sudah melakukan 'Kirim untuk verifikasi' pada tahap ini; "
                       "orang yang sama tidak boleh juga melakukan 'Verifikasi' (pemisahan "
                       "tugas): mintalah pemegang peran lain")
    assert fire(alone, "verify", user("verifikator", KEC)).to_state == "verified"


def test_one_person_cannot_approve_what_they_verified_or_submitted(alone):
    fire(alone, "submit", user("operator", KEC))
    fire(alone, "verify", ALONE)
    assert "sudah melakukan 'Verifikasi' pada tahap ini" in refused(alone, "approve", ALONE)
    assert fire(alone, "approve", user("approver", KEC)).to_state == "approved"

    fire(alone, "reopen", user("approver", KEC), reason="Data baru")
    fire(alone, "submit", ALONE)  # the latest submission is theirs now
    fire(alone, "verify", user("verifikator", KEC))
    assert "sudah melakukan 'Kirim untuk verifikasi'" in refused(alone, "approve", ALONE)


def test_three_people_walk_the_stage(alone):
    for trigger, role in (("submit", "operator"), ("verify", "verifikator"),
                          ("approve", "approver")):
        fire(alone, trigger, user(role, KEC))
    assert snapshot(alone)[0] == "approved"


def test_returning_is_not_barred_and_a_new_submission_counts(alone):
    fire(alone, "submit", ALONE)
    fire(alone, "return", ALONE, reason="Saya tarik kembali")  # return declares no not_by
    fire(alone, "submit", user("operator", KEC))
    assert fire(alone, "verify", ALONE).to_state == "verified"  # the last submitter is another


def test_the_stage_page_does_not_offer_the_refused_button(alone):
    fire(alone, "submit", ALONE)
    with alone.session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        mine = [t["trigger"] for t in view(s, task, user=actor(s, ALONE), now=NOW).triggers]
        theirs = [t["trigger"] for t in view(s, task, user=actor(s, user("verifikator", KEC)),
                                             now=NOW).triggers]
    assert "verify" not in mine and "return" in mine
    assert "verify" in theirs
    app = create_app({"DATABASE_URL": alone.url, "SECRET_KEY": "test", "TESTING": True})
    try:
        with time_machine.travel(NOW, tick=False):
            client = app.test_client()
            login = client.get("/masuk").get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
            assert client.post("/masuk", data={"username": ALONE, "password": PASSWORD,
                                               "csrf_token": token}).status_code == 302
            page = client.get(f"/tugas/{YEAR}/{KEC}/{STAGE}").get_data(as_text=True)
    finally:
        app.extensions["aksi.db"].dispose()
    assert f"/tugas/{YEAR}/{KEC}/{STAGE}/kembalikan" in page  # the review panel's return
    assert f"/tugas/{YEAR}/{KEC}/{STAGE}/verify" not in page
    assert f"/tugas/{YEAR}/{KEC}/{STAGE}/verify" not in page


# --- a stage split into parts ---------------------------------------------------------------

def name(role: str, unit: str | None = None) -> str:
    return f"{role}-{unit.lower()}@{KEC}" if unit else f"{role}@{KEC}"


@pytest.fixture
def parted(regions, juknis_defs):
    """The shipped definitions; each unit has its operator and verifikator, the Camat
    approves; the Setcam operator also verifies Setcam and approves (ALONE)."""
    with regions.session() as s:
        start_year(s, juknis_defs, YEAR, province="19", now=NOW)
        for unit in UNITS:
            for role in ("operator", "verifikator"):
                add_user(s, juknis_defs, name(role, unit), role=role, region=KEC, unit=unit,
                         now=NOW)
        add_user(s, juknis_defs, name("approver"), role="approver", region=KEC, now=NOW)
        for role in ("operator", "verifikator"):
            add_user(s, juknis_defs, ALONE, role=role, region=KEC, unit="Setcam", now=NOW)
        add_user(s, juknis_defs, ALONE, role="approver", region=KEC, now=NOW)
    for unit in UNITS:
        data = part_of(regions, unit)
        with regions.session() as s:
            save_on(s, KEC, STAGE, YEAR, name("operator", unit), data, now=NOW)
    return regions


def test_parts_one_person_cannot_verify_their_own_part(parted):
    fire(parted, "submit", ALONE)
    message = refused(parted, "verify", ALONE)
    assert message.startswith(f"{ALONE} sudah melakukan 'Kirim untuk verifikasi' pada bagian "
                              "unit Setcam;")
    fire(parted, "verify", name("verifikator", "Setcam"))
    with parted.session() as s:
        assert parts_of(s, find_task(s, KEC, STAGE, YEAR).id)["Setcam"].state == "verified"


def test_parts_one_person_cannot_approve_a_stage_they_verified_a_part_of(parted):
    for unit in UNITS:
        fire(parted, "submit", name("operator", unit))
    fire(parted, "verify", ALONE)  # the Setcam part, submitted by another
    for unit in UNITS[1:]:
        fire(parted, "verify", name("verifikator", unit))
    assert snapshot(parted)[0] == "verified"
    assert "'Verifikasi' pada bagian unit Setcam" in refused(parted, "approve", ALONE)
    assert fire(parted, "approve", name("approver")).to_state == "approved"


def test_parts_one_person_cannot_approve_a_stage_they_submitted_a_part_of(parted):
    fire(parted, "submit", ALONE)
    for unit in UNITS[1:]:
        fire(parted, "submit", name("operator", unit))
    for unit in UNITS:
        fire(parted, "verify", name("verifikator", unit))
    assert "'Kirim untuk verifikasi' pada bagian unit Setcam" in refused(parted, "approve",
                                                                         ALONE)


def test_parts_separate_people_walk_the_stage(parted):
    for trigger in ("submit", "verify"):
        for unit in UNITS:
            fire(parted, trigger, name("operator" if trigger == "submit" else "verifikator",
                                       unit))
    assert fire(parted, "approve", name("approver")).to_state == "approved"


# --- the rule itself ------------------------------------------------------------------------

def test_the_last_firing_per_part_counts(juknis_defs):
    verify = juknis_defs["kecamatan"].lifecycle.triggers["verify"]
    newest_first = [("submit", "b", {"units": ["Setcam"]}),
                    ("submit", "a", {"units": ["Setcam", "PLKB"]}),
                    ("verify", "a", {"units": ["Setcam"]})]  # not named by verify's not_by
    assert barring(verify, "a", ["Setcam"], newest_first) is None
    assert barring(verify, "a", ["PLKB"], newest_first) == ("submit", "PLKB")
    assert barring(verify, "b", ["Setcam"], newest_first) == ("submit", "Setcam")
    assert barring(verify, "b", ["Setcam"], [("submit", "b", None)]) == ("submit", "Setcam")
    assert barring(verify, "c", ["Setcam", "PLKB"], newest_first) is None
