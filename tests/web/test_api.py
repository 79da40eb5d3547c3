"""The JSON API: bearer tokens, scope, acting, and errors as JSON with telling statuses."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.people import issue_token, revoke_tokens
from engine.runtime import find_task
from engine.store.models import ApiToken, Event
from runtime.support import YEAR, user

from .conftest import KEC

STAGE = "analisis_situasi"
TASK = f"/api/v1/tasks/{YEAR}/{KEC}/{STAGE}"


def _token(app, username: str) -> dict:
    with app.extensions["aksi.db"].session() as s:
        return {"Authorization": f"Bearer {issue_token(s, username, 'sistem-uji')}"}


def _state(app) -> tuple[str, int, int]:
    with app.extensions["aksi.db"].session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        return task.state, task.version, s.scalar(select(func.count()).select_from(Event))


def test_no_token_or_a_wrong_one_is_401_in_json(app, client):
    for headers in ({}, {"Authorization": "Bearer aksi_salah"}, {"Authorization": "Basic x"}):
        answer = client.get("/api/v1/tasks", headers=headers)
        assert answer.status_code == 401 and answer.json["error"] == "Unauthorized"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_only_the_hash_is_stored_and_a_revoked_token_stops_working(app, client):
    headers = _token(app, user("operator", KEC))
    secret = headers["Authorization"].split()[1]
    with app.extensions["aksi.db"].session() as s:
        assert secret not in s.scalars(select(ApiToken.token_hash)).all()
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    with app.extensions["aksi.db"].session() as s:
        assert revoke_tokens(s, user("operator", KEC), "sistem-uji") == 1
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401


def test_list_and_show_within_scope(app, client):
    headers = _token(app, user("operator", KEC))
    listed = client.get(f"/api/v1/tasks?year={YEAR}&actionable=1", headers=headers).json
    assert {(t["region"], t["stage"]) for t in listed["tasks"]} >= {(KEC, STAGE)}
    assert all(t["region"] == KEC for t in listed["tasks"])
    shown = client.get(TASK, headers=headers).json
    assert shown["state"] == "ready" and [t["trigger"] for t in shown["triggers"]] == ["submit"]
    other = client.get(f"/api/v1/tasks/{YEAR}/19.02.01/{STAGE}", headers=headers)
    assert other.status_code == 403 and other.json["error"] == "NotPermitted"
    missing = client.get(f"/api/v1/tasks/{YEAR}/{KEC}/tidak_ada", headers=headers)
    assert missing.status_code == 404 and "tidak ada tahap" in missing.json["message"]


def test_act_conflict_and_refusals_change_nothing(app, client):
    headers = _token(app, user("operator", KEC))
    state, version, events = _state(app)
    stale = client.post(f"{TASK}/submit", json={"expected_version": version - 1}, headers=headers)
    assert stale.status_code == 409 and stale.json["error"] == "Conflict"
    wrong = client.post(f"{TASK}/approve", json={}, headers=headers)
    assert wrong.status_code in (403, 422)
    bad = client.post(f"{TASK}/submit", data="bukan json", headers={
        **headers, "Content-Type": "application/json"})
    assert bad.status_code == 400
    assert client.post(f"{TASK}/submit", json=["x"], headers=headers).status_code == 400
    assert _state(app) == (state, version, events)
    done = client.post(f"{TASK}/submit", json={"expected_version": version}, headers=headers)
    assert done.status_code == 200 and done.json["to_state"] == "submitted"
    assert _state(app)[:2] == ("submitted", version + 1)


def test_a_reason_is_required_to_return(app, client):
    client.post(f"{TASK}/submit", json={}, headers=_token(app, user("operator", KEC)))
    headers = _token(app, user("verifikator", KEC))
    refused = client.post(f"{TASK}/return", json={"reason": " "}, headers=headers)
    assert refused.status_code == 422 and refused.json["error"] == "ReasonRequired"
    returned = client.post(f"{TASK}/return", json={"reason": "Data desa belum lengkap"},
                           headers=headers)
    assert returned.status_code == 200 and returned.json["to_state"] == "returned"


def test_progress_for_a_supervisor(app, client):
    headers = _token(app, user("supervisor", "19.01"))
    answer = client.get(f"/api/v1/progress?year={YEAR}", headers=headers).json
    assert answer["areas"] == ["19.01"]
    kec = next(s for s in answer["stages"] if s["level"] == "kecamatan" and s["stage"] == STAGE)
    assert kec["total"] == 8 and kec["done"] == 0


def test_the_api_needs_no_csrf_token_but_the_pages_still_do(app, client):
    headers = _token(app, user("operator", KEC))
    assert client.post(f"{TASK}/submit", json={}, headers=headers).status_code == 200
    assert client.post("/masuk", data={"username": "x", "password": "y"}).status_code == 400
