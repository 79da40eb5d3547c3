"""The API's OpenAPI 3.1 document: valid, complete (every route of the API blueprint), with
the forms' own schemas; cursor pagination of the task list and the inbox; and Schemathesis
over every operation through WSGI (no network) with a valid token, on every backend: no
server error, every answer's status, media type and body as the document says."""

from __future__ import annotations

import datetime as dt

import hypothesis.strategies as st
import pytest
import schemathesis
import time_machine
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from engine.forms.validate import draft_schema
from engine.people import issue_token
from engine.runtime import start_year
from engine.store.models import InboxItem, Notice, Task
from engine.web import create_app
from forms.walk import add_people, person
from runtime.conftest import juknis_defs, regions  # noqa: F401
from runtime.support import YEAR, user

PREFIX = "/api/v1"
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=dt.timezone.utc)
KEC = "19.01.01"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = 10  # per operation and mode: the whole run stays well under 2 minutes a backend


@pytest.fixture
def forms_app(regions, juknis_defs, tmp_path, monkeypatch):  # noqa: F811
    """The shipped definitions (real forms) started for province 19, people in one kecamatan."""
    monkeypatch.setenv("AKSI_FILES", str(tmp_path / "berkas"))
    with regions.session() as s:
        start_year(s, juknis_defs, 2026, province="19", now=NOW)
        add_people(s, juknis_defs, KEC)
    app = create_app({"DATABASE_URL": regions.url, "SECRET_KEY": "test", "TESTING": True})
    with time_machine.travel(NOW, tick=False):
        yield app
    app.extensions["aksi.db"].dispose()


def token(app, username: str) -> dict:
    with app.extensions["aksi.db"].session() as s:
        return {"Authorization": f"Bearer {issue_token(s, username, 'uji')}"}


def test_the_document_is_valid_openapi_and_refers_to_the_forms_schemas(
        forms_app, juknis_defs):  # noqa: F811
    answer = forms_app.test_client().get(f"{PREFIX}/openapi.json")  # no token needed
    assert answer.status_code == 200 and answer.headers["ETag"]
    doc = answer.json
    validate(doc)  # OpenAPI 3.1 (openapi-spec-validator)
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    form_ids = {f for d in juknis_defs for f in d.forms}
    assert {f"FormDraft.{f}" for f in form_ids} <= set(schemas)
    one = sorted(form_ids)[0]
    assert schemas[f"Form.{one}"]["properties"].keys() == next(
        d.forms[one] for d in juknis_defs if one in d.forms)["properties"].keys()
    # The draft is the form's schema as forms.validate checks drafts, not a copy by hand.
    assert schemas[f"FormDraft.{one}"] == draft_schema(schemas[f"Form.{one}"]) != schemas[
        f"Form.{one}"]
    year = doc["paths"][PREFIX + "/tasks/{year}/{region}/{stage}"]["get"]["parameters"][0]
    assert year["schema"] == {"type": "integer", "minimum": 2000, "maximum": 2100}
    again = forms_app.test_client().get(f"{PREFIX}/openapi.json",
                                        headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


def test_every_route_of_the_api_is_documented_with_its_errors(app, client):
    doc = client.get(f"{PREFIX}/openapi.json").json
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<int:{name}>", f"{{{name}}}").replace(
                    f"<{name}>", f"{{{name}}}")
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes and routes == documented
    for path, method in documented:
        operation = doc["paths"][path][method]
        assert operation["summary"] and {"200", "201"} & set(operation["responses"]), (
            path, method)
        problem = operation["responses"]["400"]["content"]["application/json"]["schema"]
        assert problem == {"$ref": "#/components/schemas/Problem"}
        assert ("401" in operation["responses"]) == (operation.get("security") != [])


def test_cursor_pagination_walks_every_task_once(app, client):
    headers = token(app, user("supervisor", "19.01"))
    everything = client.get(f"{PREFIX}/tasks?year={YEAR}&limit=1000", headers=headers).json
    assert everything["next"] is None and len(everything["tasks"]) > 20
    seen, url = [], f"{PREFIX}/tasks?year={YEAR}&limit=7"
    while url:
        page = client.get(url, headers=headers).json
        assert len(page["tasks"]) <= 7
        seen += [t["task_id"] for t in page["tasks"]]
        url = page["next"] and f"{PREFIX}/tasks?year={YEAR}&limit=7&cursor={page['next']}"
    assert seen == [t["task_id"] for t in everything["tasks"]]  # same order, none twice
    bad = client.get(f"{PREFIX}/tasks?year={YEAR}&cursor=bukan-kursor", headers=headers)
    assert bad.status_code == 400 and bad.json["error"] == "BadRequest"


def test_cursor_pagination_of_the_inbox(app, client):
    with app.extensions["aksi.db"].session() as s:
        tasks = s.query(Task).filter(Task.region_code == KEC).limit(5).all()
        for i, task in enumerate(tasks):
            notice = Notice(task_id=task.id, kind="reminder", rule=100 + i, due_at=task.due_at,
                            days=1, fire_at=NOW)
            s.add(notice)
            s.flush()
            s.add(InboxItem(notice_id=notice.id, task_id=task.id, role="operator",
                            region_code=KEC, message=f"pesan {i}", created_at=NOW))
    headers = token(app, user("operator", KEC))
    ids, url = [], f"{PREFIX}/inbox?limit=2"
    while url:
        page = client.get(url, headers=headers).json
        ids += [item["id"] for item in page["items"]]
        url = page["next"] and f"{PREFIX}/inbox?limit=2&cursor={page['next']}"
    assert len(ids) == 5 and ids == sorted(set(ids), reverse=True)
    assert client.get(f"{PREFIX}/inbox", headers=headers).json["unread"] == 5
    mark = f"{PREFIX}/inbox/read"
    assert client.post(mark, json={"ids": [ids[0]]}, headers=headers).json == {
        "marked": 1, "unread": 4}
    other = token(app, user("verifikator", KEC))  # not addressed to them: left alone
    assert client.post(mark, json={"up_to": ids[0]}, headers=other).json["marked"] == 0
    assert client.post(mark, json={"up_to": ids[2]}, headers=headers).json == {
        "marked": 3, "unread": 1}
    assert [i["read"] for i in client.get(f"{PREFIX}/inbox", headers=headers).json["items"]] \
        == [True, False, True, True, True]
    for bad in ({}, {"ids": [1], "up_to": 1}, {"ids": "1"}, {"up_to": 0}, {"ids": [True]},
                {"ids": list(range(1, 1002))}):
        assert client.post(mark, json=bad, headers=headers).status_code == 400, bad


def _focused(operation, stages: list[str], triggers: list[str]):
    """Cases at the addresses that exist (the caller's kecamatan, the year, real stages
    and triggers), so that the fuzzing gets past the 404s."""
    names = {p.name for p in operation.path_parameters}
    fixed = {k: v for k, v in ADDRESS.items() if k in names}
    pick = {"stage": st.sampled_from(stages), "trigger": st.sampled_from(triggers)}
    chosen = st.fixed_dictionaries({k: v for k, v in pick.items() if k in names})
    return chosen.flatmap(lambda extra: operation.as_strategy(
        GenerationMode.POSITIVE, path_parameters={**fixed, **extra}))


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
ADDRESS = {"year": 2026, "region": KEC}


def _known_good(schema, app) -> None:
    """Answers with documents in them, checked against the document like the fuzzing's:
    a saved draft (its form's FormDraft schema), the stage and its documents, an upload
    and its download."""
    own = {**token(app, person("operator", KEC, "Puskesmas")), "Accept-Encoding": "identity"}
    setcam = {**token(app, person("operator", KEC)), "Accept-Encoding": "identity"}
    forms = schema[PREFIX + "/forms/{year}/{region}/{stage}"]
    stage = {**ADDRESS, "stage": "analisis_situasi"}
    saved = forms["PUT"].Case(path_parameters=stage, body={"data": {"kec_analisis_situasi": {
        "desa": {f"{KEC}.1001": {"jumlah_ibu_hamil_kek": 4}}}}}, media_type="application/json")
    assert saved.call_and_validate(headers=own, checks=CHECKS).status_code == 200
    for operation in (forms["GET"], schema[PREFIX + "/tasks/{year}/{region}/{stage}"]["GET"]):
        answer = operation.Case(path_parameters=stage).call_and_validate(headers=own,
                                                                         checks=CHECKS)
        assert answer.json()["documents" if "documents" in answer.json() else "data"][
            "kec_analisis_situasi"]["desa"][f"{KEC}.1001"]["jumlah_ibu_hamil_kek"] == 4
    upload = schema[PREFIX + "/forms/{year}/{region}/{stage}/files"]["POST"].Case(
        path_parameters={**ADDRESS, "stage": "dukungan_regulasi"},
        body={"field": "kec_regulasi.regulasi.dokumen_regulasi", "file": PDF},
        media_type="multipart/form-data")
    stored = upload.call_and_validate(headers=setcam, checks=CHECKS)
    assert stored.status_code == 201
    download = schema[PREFIX + "/files/{sha256}"]["GET"].Case(
        path_parameters={"sha256": stored.json()["sha256"]})
    assert download.call_and_validate(headers=setcam, checks=CHECKS).content == PDF


def _fuzz(operations, headers: dict, stages: list[str], triggers: list[str]) -> dict:
    """Every operation: positive and negative cases, and positive ones at real addresses,
    each answer checked by `CHECKS`; the statuses the positive cases got, per operation."""
    seen: dict[str, set[int]] = {}
    for operation in operations:
        strategies = [operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE)]
        if operation.path_parameters:
            strategies.append(_focused(operation, stages, triggers))

        @settings(max_examples=EXAMPLES * len(strategies), derandomize=True, database=None,
                  deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=st.one_of(strategies))
        def check(case):
            answer = case.call_and_validate(headers=headers, checks=CHECKS)
            if case._meta.generation.mode is GenerationMode.POSITIVE:  # noqa: SLF001
                seen.setdefault(operation.label, set()).add(answer.status_code)

        check()
    return seen


def test_schemathesis_finds_no_server_error_and_no_answer_against_the_document(
        forms_app, juknis_defs):  # noqa: F811
    with forms_app.extensions["aksi.db"].session() as s:
        add_people(s, juknis_defs, "19.01")  # a kab/kota supervisor for the dashboard and list
    # Identity: the WSGI client does not undo the compression the app would choose.
    operator, supervisor = ({**token(forms_app, name), "Accept-Encoding": "identity"} for name
                            in (person("operator", KEC, "Puskesmas"),
                                person("supervisor", "19.01", "Bappeda")))
    schema = schemathesis.openapi.from_wsgi(f"{PREFIX}/openapi.json", forms_app)
    kec = next(d for d in juknis_defs if d.level == "kecamatan")
    stages, triggers = [s.id for s in kec.stages], sorted(kec.lifecycle.triggers)
    _known_good(schema, forms_app)
    operations = [schema[path][method] for path in schema for method in schema[path]]
    assert len(operations) >= 13
    seen = _fuzz(operations, operator, stages, triggers)
    watched = _fuzz([o for o in operations if not o.path_parameters], supervisor, stages,
                    triggers)
    # The tokens work (negative cases may spoil them) and the fuzzing reaches the views, not
    # only the edge's refusals.
    assert all(401 not in codes for codes in [*seen.values(), *watched.values()])
    for label in ("GET /api/v1/tasks", "GET /api/v1/tasks/{year}/{region}/{stage}",
                  "GET /api/v1/forms/{year}/{region}/{stage}", "GET /api/v1/progress",
                  "GET /api/v1/inbox"):
        assert 200 in seen[label], (label, seen[label])
    for label in ("GET /api/v1/overdue", "GET /api/v1/dashboard"):
        assert 403 in seen[label] and 200 in watched[label], (label, watched[label])


def test_a_multipart_part_without_a_readable_name_is_400_not_500(app, client):
    """Found by Schemathesis: a part named by a bare carriage return reached the edge's
    check as a field without a name (a TypeError, 500)."""
    body = (b'--b\r\nContent-Disposition: form-data; name="\r"\r\n\r\nnull\r\n--b\r\n'
            b'Content-Disposition: form-data; name="field"\r\n\r\nx\r\n--b--\r\n')
    answer = client.post(f"{PREFIX}/forms/{YEAR}/{KEC}/analisis_situasi/files", data=body,
                         headers={**token(app, user("operator", KEC)),
                                  "Content-Type": "multipart/form-data; boundary=b"})
    assert answer.status_code == 400 and answer.json["error"] == "BadRequest"


def test_the_overdue_list_pages_for_supervisors_only(app, client):
    with time_machine.travel(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc), tick=False):
        schema = schemathesis.openapi.from_wsgi(f"{PREFIX}/openapi.json", app)
        operation = schema[PREFIX + "/overdue"]["GET"]
        supervisor = {**token(app, user("supervisor", "19.01")), "Accept-Encoding": "identity"}
        first = operation.Case(query={"year": YEAR, "limit": 3}).call_and_validate(
            headers=supervisor, checks=CHECKS).json()
        assert first["total"] > 3 and len(first["rows"]) == 3 and first["next"]
        rows, url = [], f"{PREFIX}/overdue?year={YEAR}&limit=3"
        while url:
            page = client.get(url, headers=supervisor).json
            rows += [(r["region"], r["stage"]) for r in page["rows"]]
            url = page["next"] and f"{PREFIX}/overdue?year={YEAR}&limit=3&cursor={page['next']}"
        assert len(rows) == len(set(rows)) == first["total"]
        assert all(r[0].startswith("19.01") for r in rows)
        operator = client.get(f"{PREFIX}/overdue?year={YEAR}", headers=token(
            app, user("operator", KEC)))
        assert operator.status_code == 403 and operator.json["error"] == "NotPermitted"
        outside = client.get(f"{PREFIX}/overdue?year={YEAR}&region=19.02", headers=supervisor)
        assert outside.status_code == 403


def test_the_dashboard_for_supervisors_of_their_regions_only(app, client):
    schema = schemathesis.openapi.from_wsgi(f"{PREFIX}/openapi.json", app)
    operation = schema[PREFIX + "/dashboard"]["GET"]
    supervisor = {**token(app, user("supervisor", "19.01")), "Accept-Encoding": "identity"}
    board = operation.Case(query={"year": YEAR}).call_and_validate(
        headers=supervisor, checks=CHECKS).json()
    assert board["region"] == "19.01" and board["children"]
    assert all(c["code"].startswith("19.01.") for c in board["children"])
    assert board["progress"]["total"] == sum(c["progress"]["total"] for c in board["children"]) \
        + len(board["stages"])
    down = operation.Case(query={"year": YEAR, "region": KEC}).call_and_validate(
        headers=supervisor, checks=CHECKS).json()
    assert down["region"] == KEC
    for query, status in (({"region": "19.02"}, 403), ({"region": "19.01.99"}, 404)):
        answer = client.get(f"{PREFIX}/dashboard", query_string={"year": YEAR, **query},
                            headers=supervisor)
        assert answer.status_code == status, (query, answer.json)
    operator = client.get(f"{PREFIX}/dashboard?year={YEAR}", headers=token(
        app, user("operator", KEC)))
    assert operator.status_code == 403 and operator.json["error"] == "NotPermitted"


def test_remind_and_extend_as_the_who_to_chase_page(app, client):
    url = f"{YEAR}/{KEC}/analisis_situasi"
    with time_machine.travel(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc), tick=False):
        supervisor = token(app, user("supervisor", "19.01"))
        operator = token(app, user("operator", KEC))
        assert client.post(f"{PREFIX}/reminders/{url}", headers=operator).status_code == 403
        sent = client.post(f"{PREFIX}/reminders/{url}", headers=supervisor)
        assert sent.status_code == 200 and sent.json["days_late"] > 0
        assert {r["role"] for r in sent.json["recipients"]} == {"operator"}
        again = client.post(f"{PREFIX}/reminders/{url}", headers=supervisor)
        assert again.status_code == 422 and "besok" in again.json["message"]
        assert client.get(f"{PREFIX}/inbox", headers=operator).json["unread"] >= 1

        extension = f"{PREFIX}/extensions/{url}"
        for bad in ({}, {"until": "2026-13-01", "reason": "x"}, {"until": "9999-12-31",
                    "reason": "x"}, {"until": "2026-03-15", "reason": "x", "area": "19.02"}):
            assert client.post(extension, json=bad, headers=supervisor).status_code == 400, bad
        assert client.post(extension, json={"until": "2026-03-15", "reason": " "},
                           headers=supervisor).status_code == 422
        assert client.post(extension, json={"until": "2026-03-15", "reason": "Banjir"},
                           headers=operator).status_code == 403
        one = client.post(extension, json={"until": "2026-03-15", "reason": "Banjir"},
                          headers=supervisor)
        assert one.status_code == 200 and one.json["extended"] == [KEC]
        every = client.post(extension, json={"until": "2026-03-20", "reason": "Banjir",
                                             "area": "19.01"}, headers=supervisor)
        assert every.status_code == 200 and len(every.json["extended"]) == 8
        shown = client.get(f"{PREFIX}/tasks/{url}", headers=supervisor).json
        assert shown["due_at"].startswith("2026-03-20")
