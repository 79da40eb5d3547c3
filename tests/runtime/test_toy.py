"""The toy definitions (region/district) run on the same engine: it knows no juknis names."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
import yaml
from lokal import wilayah
from sqlalchemy import func, select

import engine
from engine.definitions import load
from engine.errors import InvalidForm, NotPermitted, Refused
from engine.forms.entry import stage_documents
from engine.people import add_user
from engine.runtime import act_on, find_task, start_year, view
from engine.store.models import Case, Event, Task

from .support import TOY, UTC, WORKFLOWS, YEAR, copy_definitions, edit, event_count, task_events

MAY = dt.datetime(2026, 5, 20, 3, 0, tzinfo=UTC)  # plan opened 1 April, collect 15 May
DISTRICTS = tuple(w.code for w in wilayah.list_wilayah("19"))
REOPEN = ('    bounce: {name: Bounce, from: filed, to: draft, by: checker, reason: true}\n')
WITH_REOPEN = REOPEN + ('    reopen: {name: Reopen, from: accepted, to: draft, '
                        'by: [chief, "parent:overseer"], reason: true}\n')


def setup_toy(db, definitions, now=MAY):
    from engine.regions import load_regions

    with db.session() as s:
        load_regions(s, "19", with_desa=False)
        report = start_year(s, definitions, YEAR, province="19", now=now)
        for code in DISTRICTS:
            for role in ("clerk", "checker", "chief"):
                add_user(s, definitions, f"{role}@{code}", role=role, region=code, now=now)
        for role in ("clerk", "chief", "overseer"):
            add_user(s, definitions, f"{role}@19", role=role, region="19", now=now)
    return report


def accept(s, code, stage, now=MAY):
    act_on(s, code, stage, YEAR, "file", f"clerk@{code}", now=now)
    return act_on(s, code, stage, YEAR, "accept", f"checker@{code}", now=now)


def toy_copy(tmp_path: Path, *, relock: bool) -> Path:
    workflows = copy_definitions(TOY / "workflows", tmp_path / "toy")
    edit(workflows / "district.yaml", REOPEN, WITH_REOPEN)
    if relock:
        edit(workflows / "region.yaml", "  done: accepted\n",
             "  done: accepted\n  on_child_reopened: relock\n")
    return workflows


def test_toy_year_starts_with_its_own_levels_and_states(db, toy_defs):
    report = setup_toy(db, toy_defs)
    assert report.cases == {"district": len(DISTRICTS), "region": 1}
    with db.session() as s:
        levels = dict(s.execute(select(Case.level, func.count()).group_by(Case.level)).all())
        assert levels == {"district": len(DISTRICTS), "region": 1}
        states = dict(s.execute(select(Task.stage, Task.state).where(
            Task.region_code == DISTRICTS[0])).all())
        assert states == {"survey": "draft", "plan": "sealed", "review": "sealed"}
        assert find_task(s, "19", "collect", YEAR).state == "sealed"
        assert {e.kind for e in s.scalars(select(Event))} == {"case_started", "unseal"}
        assert s.scalar(select(func.count()).select_from(Task).where(
            Task.state == "ready")) == 0


def test_toy_lifecycle_roles_and_forms(db, toy_defs):
    setup_toy(db, toy_defs)
    code = DISTRICTS[0]
    with db.session() as s:
        with pytest.raises(NotPermitted):
            act_on(s, code, "survey", YEAR, "file", f"checker@{code}", now=MAY)
        with pytest.raises(NotPermitted):
            act_on(s, code, "survey", YEAR, "file", f"clerk@{DISTRICTS[1]}", now=MAY)
        with pytest.raises(InvalidForm) as info:
            act_on(s, code, "survey", YEAR, "file", f"clerk@{code}",
                   data={"district_survey": {"isian": {"note": 5}}}, now=MAY)
        assert len(info.value.problems) == 1 and "«Catatan»" in info.value.problems[0]
        with pytest.raises(InvalidForm):
            act_on(s, code, "survey", YEAR, "file", f"clerk@{code}",
                   data={"region_digest": {}}, now=MAY)
    with db.session() as s:
        filed = act_on(s, code, "survey", YEAR, "file", f"clerk@{code}",
                       data={"district_survey": {"isian": {"note": "ok"}}}, now=MAY)
        # accept may be fired by checker or chief
        accepted = act_on(s, code, "survey", YEAR, "accept", f"chief@{code}", now=MAY)
    assert (filed.from_state, filed.to_state) == ("draft", "filed")
    assert (accepted.from_state, accepted.to_state) == ("filed", "accepted")
    assert accepted.opened == [{"region": code, "level": "district", "stage": "plan",
                                "state": "draft"}]
    with db.session() as s:
        t = find_task(s, code, "survey", YEAR)
        assert stage_documents(s, toy_defs["district"], t) == {
            "district_survey": {"isian": {"note": "ok"}}}
        evs = task_events(s, t.id)
        assert [(e.kind, e.actor) for e in evs] == [
            ("unseal", "system"), ("save", f"clerk@{code}"), ("file", f"clerk@{code}"),
            ("accept", f"chief@{code}")]
        assert evs[1].payload == {"unit": "", "forms": ["district_survey"]}
        assert evs[2].payload == {"roles": ["clerk"], "forms": ["district_survey"]}
        assert evs[3].payload == {"roles": ["chief"]}


def test_toy_quorum_opens_parent_at_half_the_children(db, toy_defs):
    setup_toy(db, toy_defs)
    quorum = toy_defs["region"].stage("collect").waits_for.quorum_percent
    assert quorum == 50
    need = -(-quorum * len(DISTRICTS) // 100)  # 4 of 7
    for n, code in enumerate(DISTRICTS, start=1):
        with db.session() as s:
            accept(s, code, "survey")
            result = accept(s, code, "plan")
        with db.session() as s:
            collect = find_task(s, "19", "collect", YEAR)
            if n < need:
                assert result.opened == []
                assert collect.state == "sealed"
                (b,) = view(s, collect, now=MAY).blockers
                assert (b.kind, b.have, b.need, b.total) == ("waits_for", n, need, len(DISTRICTS))
                assert b.regions == list(DISTRICTS[n:])
            else:
                assert collect.state == "draft"
                assert result.opened == ([{"region": "19", "level": "region", "stage": "collect",
                                           "state": "draft"}] if n == need else [])
    with db.session() as s:
        collect = find_task(s, "19", "collect", YEAR)
        assert [(e.kind, e.actor) for e in task_events(s, collect.id)] == [("unseal", "system")]
        # region's own roles drive the region case
        r = act_on(s, "19", "collect", YEAR, "file", "clerk@19", now=MAY)
        assert (r.from_state, r.to_state) == ("draft", "filed")
        with pytest.raises(NotPermitted):
            act_on(s, "19", "collect", YEAR, "accept", f"chief@{DISTRICTS[0]}", now=MAY)


def _open_collect(db, definitions, children: int):
    setup_toy(db, definitions)
    for code in DISTRICTS[:children]:
        with db.session() as s:
            accept(s, code, "survey")
            accept(s, code, "plan")
    with db.session() as s:
        assert find_task(s, "19", "collect", YEAR).state == "draft"


def test_toy_reopened_child_notifies_by_default(db, tmp_path):
    definitions = load(toy_copy(tmp_path, relock=False))
    assert definitions["region"].lifecycle.on_child_reopened == "notify"
    _open_collect(db, definitions, 4)
    later = MAY + dt.timedelta(days=1)
    with db.session() as s:
        act_on(s, DISTRICTS[0], "plan", YEAR, "reopen", "overseer@19", reason="recount",
               now=later)
    with db.session() as s:
        collect = find_task(s, "19", "collect", YEAR)
        assert (collect.state, collect.version) == ("draft", 2)
        evs = task_events(s, collect.id)
        assert [(e.kind, e.actor, e.from_state, e.to_state) for e in evs] == [
            ("unseal", "system", "sealed", "draft"),
            ("child_reopened", "overseer@19", "draft", "draft")]
        assert evs[-1].payload == {"child_region": DISTRICTS[0], "child_stage": "plan",
                                   "child_state": "draft", "reason": "recount"}


def test_toy_reopened_child_relocks_an_untouched_parent(db, tmp_path):
    definitions = load(toy_copy(tmp_path, relock=True))
    assert definitions["region"].lifecycle.on_child_reopened == "relock"
    _open_collect(db, definitions, 4)
    later = MAY + dt.timedelta(days=1)
    with db.session() as s:
        act_on(s, DISTRICTS[0], "plan", YEAR, "reopen", f"chief@{DISTRICTS[0]}",
               reason="recount", now=later)
    with db.session() as s:
        collect = find_task(s, "19", "collect", YEAR)
        assert collect.state == "sealed"
        evs = task_events(s, collect.id)
        assert [(e.kind, e.actor, e.from_state, e.to_state) for e in evs] == [
            ("unseal", "system", "sealed", "draft"),
            ("relocked", f"chief@{DISTRICTS[0]}", "draft", "sealed")]
        assert evs[-1].payload["child_region"] == DISTRICTS[0]
        assert evs[-1].at == later
        (b,) = view(s, collect, now=later).blockers
        assert (b.kind, b.have, b.need) == ("waits_for", 3, 4)
    # accepted again: the gate holds again and the parent opens a second time
    with db.session() as s:
        r = accept(s, DISTRICTS[0], "plan", now=later)
    assert r.opened == [{"region": "19", "level": "region", "stage": "collect", "state": "draft"}]
    with db.session() as s:
        collect = find_task(s, "19", "collect", YEAR)
        assert [e.kind for e in task_events(s, collect.id)] == ["unseal", "relocked", "unseal"]


def test_toy_relock_spares_a_parent_already_filed(db, tmp_path):
    definitions = load(toy_copy(tmp_path, relock=True))
    _open_collect(db, definitions, 4)
    with db.session() as s:
        act_on(s, "19", "collect", YEAR, "file", "clerk@19", now=MAY)
    with db.session() as s:
        act_on(s, DISTRICTS[1], "plan", YEAR, "reopen", "overseer@19", reason="x", now=MAY)
    with db.session() as s:
        collect = find_task(s, "19", "collect", YEAR)
        assert collect.state == "filed"
        assert [(e.kind, e.from_state, e.to_state) for e in task_events(s, collect.id)][-1] == \
            ("child_reopened", "filed", "filed")


def test_toy_set_refuses_juknis_roles(db, toy_defs):
    setup_toy(db, toy_defs)
    with db.session() as s:
        before = event_count(s)
        with pytest.raises(Refused, match="operator"):
            add_user(s, toy_defs, "op", role="operator", region=DISTRICTS[0])
        with pytest.raises(Refused):  # no toy level at tier 3
            add_user(s, toy_defs, "op", role="clerk", region="19.01.01")
        assert event_count(s) == before


def _juknis_identifiers() -> set[str]:
    names: set[str] = set()
    for path in WORKFLOWS.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        names.add(data["level"])
        names.update(data["roles"])
        names.update(data["lifecycle"]["states"])
        names.update(data["lifecycle"]["triggers"])
        names.update(s["id"] for s in data["stages"])
    return names


def test_engine_code_names_no_juknis_identifier():
    """No string literal (docstrings aside) of the runtime, people or store code is a juknis id."""
    juknis = _juknis_identifiers()
    assert {"analisis_situasi", "kecamatan", "approver", "approved", "open"} <= juknis
    root = Path(engine.__file__).parent
    hits = []
    for package in ("runtime", "people", "store", "regions"):
        for path in (root / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                          if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef))
                          and n.body and isinstance(n.body[0], ast.Expr)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and id(node) not in docstrings and node.value in juknis:
                    hits.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    assert hits == []
