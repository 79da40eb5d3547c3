"""Acting on stages: the lifecycle, who may do what, events, versions, refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.errors import (
    Conflict, InvalidTrigger, NotFound, NotPermitted, ReasonRequired, Refused,
)
from engine.people import get_user
from engine.forms.parts import parts_of
from engine.runtime import act, act_on, find_task, view
from engine.store.models import InboxItem, Notice
from sqlalchemy import select

from .support import NOW, YEAR, event_count, task_events, user, walk_to_done

KEC = "19.01.01"
OTHER_KEC = "19.01.02"
STAGE = "analisis_situasi"
LATER = NOW + dt.timedelta(hours=1)


def snapshot(db, region=KEC, stage=STAGE):
    with db.session() as s:
        t = find_task(s, region, stage, YEAR)
        return (t.state, t.version, t.updated_at, t.done_at, parts_of(s, t.id),
                event_count(s))


def test_submit_verify_approve_by_the_right_users(started):
    steps = [("submit", "operator", "ready", "submitted"),
             ("verify", "verifikator", "submitted", "verified"),
             ("approve", "approver", "verified", "approved")]
    for i, (trigger, role, before, after) in enumerate(steps):
        moment = NOW + dt.timedelta(minutes=i + 1)
        with started.session() as s:
            r = act_on(s, KEC, STAGE, YEAR, trigger, user(role, KEC), now=moment)
        assert (r.trigger, r.from_state, r.to_state, r.version) == (trigger, before, after, i + 2)
    with started.session() as s:
        t = find_task(s, KEC, STAGE, YEAR)
        assert (t.state, t.version) == ("approved", 4)
        assert t.done_at == NOW + dt.timedelta(minutes=3)
        assert t.updated_at == NOW + dt.timedelta(minutes=3)
        evs = task_events(s, t.id)
    assert [(e.kind, e.actor, e.from_state, e.to_state) for e in evs] == [
        ("open", "system", "locked", "ready"),
        ("submit", user("operator", KEC), "ready", "submitted"),
        ("verify", user("verifikator", KEC), "submitted", "verified"),
        ("approve", user("approver", KEC), "verified", "approved"),
    ]
    assert [e.payload["roles"] for e in evs[1:]] == [["operator"], ["verifikator"], ["approver"]]
    assert all((e.region_code, e.level, e.year, e.stage) == (KEC, "kecamatan", YEAR, STAGE)
               for e in evs)
    assert [e.at for e in evs[1:]] == [NOW + dt.timedelta(minutes=m) for m in (1, 2, 3)]


@pytest.mark.parametrize("trigger, username, region, error", [
    ("submit", user("verifikator", KEC), KEC, NotPermitted),       # wrong role
    ("submit", user("approver", KEC), KEC, NotPermitted),           # wrong role
    ("submit", user("operator", OTHER_KEC), KEC, NotPermitted),     # role on another region
    ("submit", user("operator", "19.01"), KEC, NotPermitted),       # same role id, parent level
    ("submit", user("operator", "19"), KEC, NotPermitted),          # ... and grandparent
    ("approve", user("approver", KEC), KEC, InvalidTrigger),        # not valid in 'ready'
    ("reopen", user("approver", KEC), KEC, InvalidTrigger),         # not valid in 'ready'
    ("teleport", user("operator", KEC), KEC, InvalidTrigger),       # no such trigger
    ("open", user("operator", KEC), KEC, NotPermitted),             # system trigger
    ("submit", "nobody", KEC, NotFound),                            # unknown user
])
def test_refused_actions_change_nothing(started, trigger, username, region, error):
    before = snapshot(started, region)
    with started.session() as s:
        with pytest.raises(error) as info:
            act_on(s, region, STAGE, YEAR, trigger, username, now=LATER)
    assert info.value.message  # a message for people
    assert snapshot(started, region) == before
    if error is not NotFound:
        assert isinstance(info.value, Refused)


def test_system_trigger_refused_even_where_it_would_apply(started):
    stage = "pra_musrenbang"  # locked: 'open' would apply
    before = snapshot(started, KEC, stage)
    with started.session() as s:
        with pytest.raises(NotPermitted, match="sistem"):
            act_on(s, KEC, stage, YEAR, "open", user("operator", KEC), now=LATER)
    assert snapshot(started, KEC, stage) == before
    assert before[0] == "locked"


def test_reason_required(started):
    with started.session() as s:
        act_on(s, KEC, STAGE, YEAR, "submit", user("operator", KEC), now=NOW)
    before = snapshot(started)
    for reason in (None, "", "   "):
        with started.session() as s:
            with pytest.raises(ReasonRequired):
                act_on(s, KEC, STAGE, YEAR, "return", user("verifikator", KEC), reason=reason,
                       now=LATER)
    assert snapshot(started) == before
    with started.session() as s:
        r = act_on(s, KEC, STAGE, YEAR, "return", user("verifikator", KEC),
                   reason="data sasaran belum lengkap", now=LATER)
    assert (r.from_state, r.to_state, r.version) == ("submitted", "returned", 3)
    with started.session() as s:
        last = task_events(s, r.task_id)[-1]
    assert (last.kind, last.actor, last.from_state, last.to_state) == \
        ("return", user("verifikator", KEC), "submitted", "returned")
    # A return tells the operator it now waits for, in the inbox: the event names the notice.
    notice = last.payload.pop("notice")
    assert last.payload == {
        "roles": ["verifikator"], "reason": "data sasaran belum lengkap",
        "recipients": [{"role": "operator", "region": KEC}],
        "message": f"Kembalikan oleh {user('verifikator', KEC)}: tahap 'Analisis Situasi' "
                   f"{KEC} Sungailiat kini 'Dikembalikan'. Alasan: data sasaran belum lengkap"}
    with started.session() as s:
        assert s.get(Notice, notice).kind == "sent_back"
        assert s.execute(select(InboxItem.role, InboxItem.region_code)
                         .where(InboxItem.notice_id == notice)).all() == [("operator", KEC)]


def test_each_transition_writes_exactly_one_event(started):
    with started.session() as s:
        t = find_task(s, KEC, STAGE, YEAR)
        base = event_count(s)
    trail = [("submit", "operator", None), ("return", "approver", "salah"),
             ("submit", "operator", None), ("verify", "verifikator", None)]
    for n, (trigger, role, reason) in enumerate(trail, start=1):
        with started.session() as s:
            r = act(s, task=find_task(s, KEC, STAGE, YEAR), trigger=trigger,
                    username=user(role, KEC), reason=reason, now=NOW)
            assert r.version == 1 + n
        with started.session() as s:
            assert event_count(s) == base + n
            assert find_task(s, KEC, STAGE, YEAR).version == 1 + n
    with started.session() as s:
        kinds = [e.kind for e in task_events(s, t.id)]
    assert kinds == ["open", "submit", "return", "submit", "verify"]


def test_expected_version_mismatch_is_a_conflict(started):
    with started.session() as s:
        act_on(s, KEC, STAGE, YEAR, "submit", user("operator", KEC), expected_version=1, now=NOW)
    before = snapshot(started)
    with started.session() as s:
        with pytest.raises(Conflict) as info:
            act_on(s, KEC, STAGE, YEAR, "verify", user("verifikator", KEC), expected_version=1,
                   now=LATER)
    assert info.value.context["version"] == 2
    assert not isinstance(info.value, Refused)
    assert snapshot(started) == before
    with started.session() as s:
        r = act_on(s, KEC, STAGE, YEAR, "verify", user("verifikator", KEC), expected_version=2,
                   now=LATER)
    assert r.version == 3


def test_parent_supervisor_may_reopen_other_kecamatan_approver_may_not(started):
    with started.session() as s:
        walk_to_done(s, KEC, STAGE)
    approved = snapshot(started)
    assert approved[0] == "approved" and approved[3] is not None
    for outsider in (user("approver", OTHER_KEC), user("supervisor", "19.02"),
                     user("operator", "19.01")):
        with started.session() as s:
            with pytest.raises(NotPermitted):
                act_on(s, KEC, STAGE, YEAR, "reopen", outsider, reason="cek ulang", now=LATER)
        assert snapshot(started) == approved
    with started.session() as s:
        r = act_on(s, KEC, STAGE, YEAR, "reopen", user("supervisor", "19.01"),
                   reason="angka stunting salah", now=LATER)
    assert (r.from_state, r.to_state, r.version) == ("approved", "reopened", 5)
    with started.session() as s:
        t = find_task(s, KEC, STAGE, YEAR)
        assert t.done_at is None
        last = task_events(s, t.id)[-1]
    assert (last.kind, last.actor) == ("reopen", user("supervisor", "19.01"))
    assert {k: last.payload[k] for k in ("roles", "reason", "recipients")} == {
        "roles": ["parent:supervisor"], "reason": "angka stunting salah",
        "recipients": [{"role": "operator", "region": KEC}]}  # told it is reopened
    # the kecamatan's own approver may reopen too
    with started.session() as s:
        walk_to_done(s, KEC, STAGE)
        r = act_on(s, KEC, STAGE, YEAR, "reopen", user("approver", KEC), reason="x", now=LATER)
    assert r.to_state == "reopened"


def test_inactive_user_may_not_act(started):
    with started.session() as s:
        get_user(s, user("operator", KEC)).active = False
    before = snapshot(started)
    with started.session() as s:
        with pytest.raises(NotPermitted):
            act_on(s, KEC, STAGE, YEAR, "submit", user("operator", KEC), now=LATER)
    assert snapshot(started) == before


def test_unknown_task_or_region_is_not_found(started):
    with started.session() as s:
        with pytest.raises(NotFound, match="99.99"):
            act_on(s, "99.99", STAGE, YEAR, "submit", user("operator", KEC))
        with pytest.raises(NotFound):
            act_on(s, KEC, "no_such_stage", YEAR, "submit", user("operator", KEC))
        with pytest.raises(NotFound):
            act_on(s, KEC, STAGE, YEAR + 5, "submit", user("operator", KEC))


def test_view_follows_region_scope(started):
    with started.session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        for viewer in (user("supervisor", "19.01"), user("operator", "19.01"),
                       user("operator", "19"), user("operator", KEC)):
            v = view(s, task, user=get_user(s, viewer), now=NOW)
            assert (v.region, v.stage, v.state, v.version) == (KEC, STAGE, "ready", 1)
        for outsider in (user("operator", OTHER_KEC), user("approver", OTHER_KEC),
                         user("supervisor", "19.02"), user("operator", "19.02.01")):
            with pytest.raises(NotPermitted):
                view(s, task, user=get_user(s, outsider), now=NOW)
        # triggers shown are the ones the viewer may fire now
        assert [t["trigger"] for t in view(s, task, user=get_user(s, user("operator", KEC)),
                                           now=NOW).triggers] == ["submit"]
        assert view(s, task, user=get_user(s, user("verifikator", KEC)), now=NOW).triggers == []
        assert view(s, task, user=get_user(s, user("supervisor", "19.01")),
                    now=NOW).triggers == []
        assert [t["trigger"] for t in view(s, task, now=NOW).triggers] == ["submit"]
