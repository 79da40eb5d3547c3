"""A stage's own `by` (who fires which of its triggers), on every backend.

The shipped kab/kota and provinsi definitions have the Sekda approve pra_musrenbang and
penilaian_monev (juknis l. 2969-2970, 3180-3183, 3685-3686, 3882-3885); every other stage
keeps the Kepala Bappeda (`approver`). The walk uses a copy of the shipped definitions in
which kab/kota `dukungan_regulasi` (open from 1 January, no gate) is approved by the
Sekda too, so that a stage run by the Sekda can be walked on 5 January: the Kepala Bappeda
is refused and nothing changes, the Sekda approves; the task lists, the stage page and
the chase list offer the action to the Sekda, not the Kepala Bappeda; the other stages are
untouched.
"""

from __future__ import annotations

import re

import pytest
import time_machine

from engine.definitions import load
from engine.definitions.variants import lifecycle_only
from engine.diagrams.lifecycle import lifecycle_graph
from engine.errors import NotPermitted
from engine.forms.documents import signing_chain
from engine.people import actor, add_user
from engine.regions import load_regions
from engine.runtime import act_on, find_task, list_tasks, start_year, view
from engine.runtime.overdue import chasing_roles, waiting_for
from engine.web import create_app

from .support import NOW, WORKFLOWS, YEAR, copy_definitions, edit, event_count, user

KAB = "19.01"
STAGE = "dukungan_regulasi"  # given `by: {approve: sekda, ...}` in the copy
OTHER = "publikasi"  # keeps the lifecycle's roles
PASSWORD = "rahasia-123"
ROLES = ("operator", "verifikator", "approver", "sekda")


@pytest.fixture(scope="module")
def sekda_defs(tmp_path_factory):
    root = tmp_path_factory.mktemp("sekda")
    copy = copy_definitions(WORKFLOWS, root / "shipped")
    edit(copy / "kabkota.yaml", "    outputs: [kab_regulasi]\n",
         "    outputs: [kab_regulasi]\n"
         "    by: {approve: sekda, return: [verifikator, sekda]}\n")
    return load(lifecycle_only(copy, root / "lifecycle"))


@pytest.fixture
def kab(db, sekda_defs):
    with db.session() as s:
        load_regions(s, "19")
        start_year(s, sekda_defs, YEAR, province="19", now=NOW)
        for role in ROLES:
            add_user(s, sekda_defs, user(role, KAB), role=role, region=KAB, password=PASSWORD,
                     now=NOW)
    return db


def fire(db, stage: str, trigger: str, role: str, **kwargs):
    with db.session() as s:
        return act_on(s, KAB, stage, YEAR, trigger, user(role, KAB), now=NOW, **kwargs)


def snapshot(db, stage: str):
    with db.session() as s:
        t = find_task(s, KAB, stage, YEAR)
        return t.state, t.version, t.done_at, event_count(s)


def offered(db, stage: str, role: str) -> list[str]:
    with db.session() as s:
        task = find_task(s, KAB, stage, YEAR)
        return [t["trigger"] for t in view(s, task, user=actor(s, user(role, KAB)),
                                           now=NOW).triggers]


def waiting(db, role: str) -> list[str]:
    with db.session() as s:
        return [t.stage for t in list_tasks(s, user=actor(s, user(role, KAB)), year=YEAR,
                                            actionable=True, region=KAB, now=NOW)]


def verified(db, stage: str):
    fire(db, stage, "submit", "operator")
    fire(db, stage, "verify", "verifikator")


def test_shipped_definitions_give_pra_musrenbang_and_penilaian_to_the_sekda(juknis_defs):
    for level in ("kabkota", "provinsi"):
        d = juknis_defs[level]
        assert "sekda" in d.roles
        for stage in d:
            approvers = [str(r) for r in d.trigger(stage.id, "approve").by]
            expected = (["sekda"] if stage.id in ("pra_musrenbang", "penilaian_monev")
                        else ["approver"])
            assert approvers == expected, (level, stage.id)
        # The lifecycle itself is unchanged: the override lives in the stage only.
        assert [str(r) for r in d.lifecycle.triggers["approve"].by] == ["approver"]
    assert "sekda" not in juknis_defs["kecamatan"].roles
    # The document's last signature block is the Sekda's in their stages.
    assert [str(r) for r in signing_chain(juknis_defs["kabkota"], "penilaian_monev")[-1].by] \
        == ["sekda"]
    assert [str(r) for r in signing_chain(juknis_defs["kabkota"], "publikasi")[-1].by] \
        == ["approver"]
    # The lifecycle diagram names the stages that give a trigger to other roles.
    assert "Setujui (approver; pra_musrenbang, penilaian_monev: sekda)" in lifecycle_graph(
        juknis_defs["kabkota"])


def test_the_kepala_bappeda_is_refused_and_nothing_changes(kab):
    verified(kab, STAGE)
    before = snapshot(kab, STAGE)
    with kab.session() as s, pytest.raises(NotPermitted) as caught:
        act_on(s, KAB, STAGE, YEAR, "approve", user("approver", KAB), now=NOW)
    assert "perlu peran sekda" in caught.value.message
    assert snapshot(kab, STAGE) == before
    assert fire(kab, STAGE, "approve", "sekda").to_state == "approved"


def test_the_sekda_may_only_where_the_stage_says_so(kab):
    verified(kab, OTHER)
    before = snapshot(kab, OTHER)
    with kab.session() as s, pytest.raises(NotPermitted):
        act_on(s, KAB, OTHER, YEAR, "approve", user("sekda", KAB), now=NOW)
    assert snapshot(kab, OTHER) == before
    assert fire(kab, OTHER, "approve", "approver").to_state == "approved"


def test_the_sekda_returns_with_a_reason_in_their_stage(kab):
    verified(kab, STAGE)
    assert fire(kab, STAGE, "return", "sekda", reason="Lampiran kurang").to_state == "returned"


def test_task_lists_and_views_offer_approval_to_the_sekda(kab):
    verified(kab, STAGE)
    verified(kab, OTHER)
    assert "approve" in offered(kab, STAGE, "sekda")
    assert "approve" not in offered(kab, STAGE, "approver")
    assert "approve" in offered(kab, OTHER, "approver")
    assert "approve" not in offered(kab, OTHER, "sekda")
    assert STAGE in waiting(kab, "sekda") and OTHER not in waiting(kab, "sekda")
    assert OTHER in waiting(kab, "approver") and STAGE not in waiting(kab, "approver")


def test_whose_turn_names_the_sekda(kab, sekda_defs):
    verified(kab, STAGE)
    defs = {d.content_hash: d for d in sekda_defs}
    with kab.session() as s:
        task = find_task(s, KAB, STAGE, YEAR)
        assert [w.role for w in waiting_for(defs, task, {})] == ["sekda"]
        other = find_task(s, KAB, OTHER, YEAR)
        assert [w.role for w in waiting_for(defs, other, {})] == ["operator"]
    assert ("kabkota", "sekda") in chasing_roles(defs)


def page_as(db, role: str, stage: str) -> str:
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "test", "TESTING": True})
    try:
        with time_machine.travel(NOW, tick=False):
            client = app.test_client()
            login = client.get("/masuk").get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
            assert client.post("/masuk", data={"username": user(role, KAB), "password": PASSWORD,
                                               "csrf_token": token}).status_code == 302
            return client.get(f"/tugas/{YEAR}/{KAB}/{stage}").get_data(as_text=True)
    finally:
        app.extensions["aksi.db"].dispose()


def test_the_stage_page_offers_the_button_to_the_sekda_only(kab):
    verified(kab, STAGE)
    button = f"/tugas/{YEAR}/{KAB}/{STAGE}/approve"
    assert button in page_as(kab, "sekda", STAGE)
    assert button not in page_as(kab, "approver", STAGE)
