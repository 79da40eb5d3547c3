"""Every input has an answer (engine/web/edge.py, problems.py, headers.py), on every
backend: NUL bytes and lone surrogates, years and codes out of range, JSON that is too
deep or not finite, sizes and lengths over the limits are refused with a status and a
message in Bahasa Indonesia, and the database is exactly as it was; the API answers JSON
for every error; every response carries the security headers, and the pages satisfy the
Content-Security-Policy they are sent with."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser

import pytest
import time_machine
from sqlalchemy import Integer, inspect, text

from engine.people import issue_token
from engine.web import ConfigurationError, create_app
from engine.web.headers import POLICY
from runtime.conftest import juknis_defs  # noqa: F401
from runtime.support import NOW, YEAR, user

from .conftest import KEC, PASSWORD, csrf_token, sign_in

STAGE = "analisis_situasi"
PAGE = f"/tugas/{YEAR}/{KEC}/{STAGE}"
TASK = f"/api/v1/tasks/{YEAR}/{KEC}/{STAGE}"
UNCLEAN = "karakter yang tidak sah"
# Rows that change by design when a request is refused: refused sign-ins are counted to
# slow down guessing (``sign_in_failures`` before migration 0010, ``sign_in_counters`` after)
# and audited (``audit``, people/audit.py).
COUNTERS = ("sign_in_failures", "sign_in_counters", "audit")


def snapshot(app, *, counters: bool = True) -> dict[str, int]:
    """Rows of every table, and the sum of every ``version`` column: a refused request must
    leave all of them as they were."""
    shot = {}
    with app.extensions["aksi.db"].session() as s:
        schema = inspect(s.connection())
        for table in schema.get_table_names():
            if table == "alembic_version" or (not counters and table in COUNTERS):
                continue
            shot[table] = s.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
            if any(c["name"] == "version" and isinstance(c["type"], Integer)
                   for c in schema.get_columns(table)):
                shot[f"{table}.version"] = s.execute(
                    text(f'SELECT coalesce(sum(version), 0) FROM "{table}"')).scalar()
    return shot


def page_text(answer) -> str:
    return answer.get_data(as_text=True)


def token(app, username: str) -> dict[str, str]:
    with app.extensions["aksi.db"].session() as s:
        return {"Authorization": f"Bearer {issue_token(s, username, 'uji-tepi')}"}


# -- NUL bytes and lone surrogates -------------------------------------------------------------

def test_nul_in_a_path_query_or_form_is_400_in_bahasa_and_changes_nothing(app, client):
    before = snapshot(app)
    # The unauthenticated sign-in first: refused before any name is looked up or counted.
    login = client.get("/masuk")
    answer = client.post("/masuk", data={"username": f"{user('operator', KEC)}\x00",
                                         "password": PASSWORD,
                                         "csrf_token": csrf_token(login.data)})
    assert answer.status_code == 400 and UNCLEAN in page_text(answer)
    assert "Isian &#39;username&#39;" in page_text(answer)
    assert client.get("/masuk?next=/tugas%00").status_code == 400
    assert client.get("/tugas").status_code == 302  # not signed in
    assert snapshot(app) == before
    sign_in(client, user("operator", KEC))
    before = snapshot(app)
    token_ = csrf_token(client.get(PAGE).data)
    for refused in (
            client.get(f"/tugas/{YEAR}/{KEC}%00/{STAGE}"),
            client.get(f"/tugas/{YEAR}/{KEC}/{STAGE}%00"),
            client.get("/tugas?tahap=analisis%00situasi"),
            client.get("/tugas?tah%00ap=x"),
            client.get("/pantau?tahun=2026%00"),
            client.post(f"{PAGE}/submit", data={"version": "1", "csrf_token": token_,
                                                "reason": "a\x00b"}),
            client.post(f"{PAGE}/kembalikan", data={"version": "1", "csrf_token": token_,
                                                    "trigger": "return", "reason": "x\x00"}),
            client.post(f"{PAGE}/isian", data={"version": "1", "part_version": "0",
                                               "csrf_token": token_, "aksi": "simpan",
                                               "a/b/c\x00": "1"}),
            client.post(f"{PAGE}/impor", content_type="multipart/form-data",
                        data={"csrf_token": token_, "formulir": "x",
                              "berkas": (io.BytesIO(b"a;b\n1;2\n"), "isian\x00.csv")})):
        assert refused.status_code == 400, refused.request.path
        assert UNCLEAN in page_text(refused) and "tidak ada yang diubah" in page_text(refused)
        assert refused.mimetype == "text/html"
    assert snapshot(app) == before


def test_nul_and_lone_surrogates_in_api_requests_are_400_json(app, client):
    headers = token(app, user("operator", KEC))
    before = snapshot(app)
    for body in ('{"reason": "a\\u0000b"}', '{"reason": "\\ud800"}', '{"data": {"\\udfff": 1}}',
                 '{"data": {"f": {"s": ["\\u0000"]}}}'):
        answer = client.post(f"{TASK}/submit", data=body, headers=headers,
                             content_type="application/json")
        assert answer.status_code == 400 and answer.json["error"] == "BadRequest"
        assert "karakter NUL atau kode Unicode yang tidak lengkap" in answer.json["message"]
    answer = client.get(f"/api/v1/tasks?year={YEAR}&region=19%00", headers=headers)
    assert answer.status_code == 400 and UNCLEAN in answer.json["message"]
    answer = client.put(f"/api/v1/forms/{YEAR}/{KEC}/{STAGE}", headers=headers,
                        data='{"data": {}, "unit": "Setcam\\u0000"}',
                        content_type="application/json")
    assert answer.status_code == 400
    assert snapshot(app) == before


# -- years and address parts -----------------------------------------------------------------

def test_years_and_codes_out_of_range_or_pattern_are_404(app, client):
    headers = token(app, user("operator", KEC))
    sign_in(client, user("operator", KEC))
    token_ = csrf_token(client.get(PAGE).data)
    before = snapshot(app)
    for year in (2 ** 31, 2 ** 63, 2 ** 64, 10 ** 30, 1999, 2101, 0):
        page = client.get(f"/tugas/{year}/{KEC}/{STAGE}")
        assert page.status_code == 404 and "tidak ada" in page_text(page)
        posted = client.post(f"/tugas/{year}/{KEC}/{STAGE}/submit",
                             data={"version": "1", "csrf_token": token_})
        assert posted.status_code == 404
        api = client.get(f"/api/v1/tasks/{year}/{KEC}/{STAGE}", headers=headers)
        assert api.status_code == 404 and api.json["error"] == "NotFound"
        assert "di luar jangkauan" in api.json["message"]
    for path in (f"/tugas/{YEAR}/19.01.01.x/{STAGE}", f"/tugas/{YEAR}/{'1' * 300}/{STAGE}",
                 f"/tugas/{YEAR}/{KEC}/Tahap-Besar", f"/tugas/{YEAR}/{KEC}/{STAGE}/berkas/xyz",
                 f"/tugas/{YEAR}/{KEC}/{STAGE}/templat/{'a' * 200}"):
        answer = client.get(path)
        assert answer.status_code == 404 and "tidak ada" in page_text(answer), path
    for query in (f"year={2 ** 63}", "year=1999", "year=dua"):
        answer = client.get(f"/api/v1/tasks?{query}", headers=headers)
        assert answer.status_code == 400 and "year" in answer.json["message"]
        assert client.get(f"/api/v1/progress?{query}", headers=headers).status_code == 400
    assert client.get(f"/tugas?tahun={2 ** 64}").status_code == 200  # said, default shown
    assert snapshot(app) == before


# -- JSON bodies -----------------------------------------------------------------------------

@pytest.mark.parametrize("body, says", [
    ('{"reason": NaN}', "NaN"), ('{"expected_version": Infinity}', "Infinity"),
    ('{"data": {"f": -Infinity}}', "-Infinity"), ('{"data": {"f": 1e400}}', "di luar jangkauan"),
    ('{"expected_version": 18446744073709551616}', "di luar jangkauan"),
    ('{"data": ' + "[" * 10_000 + "]" * 10_000 + "}", "terlalu dalam"),
    ('{"data": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}", "terlalu dalam"),
    ('{"reason": "x",}', "bukan JSON yang sah"), (b'{"reason": "\xff"}', "bukan JSON yang sah"),
])
def test_api_json_bodies_are_parsed_strictly(app, client, body, says):
    headers = token(app, user("operator", KEC))
    before = snapshot(app)
    answer = client.post(f"{TASK}/submit", data=body, headers=headers,
                         content_type="application/json")
    assert answer.status_code == 400 and answer.mimetype == "application/json"
    assert answer.json["error"] == "BadRequest" and says in answer.json["message"]
    assert "tidak ada yang diubah" in answer.json["message"]
    assert snapshot(app) == before


def test_json_within_the_limits_is_taken(app, client):
    headers = token(app, user("operator", KEC))
    nested = {"data": {}, "expected_version": None, "reason": "ok", "x": [[[[1.5, 2 ** 53]]]]}
    answer = client.post(f"{TASK}/submit", json=nested, headers=headers)
    assert answer.status_code == 200 and answer.json["to_state"] == "submitted"


# -- the API's errors ------------------------------------------------------------------------

def test_every_api_error_is_json_in_the_apis_shape(app, client, monkeypatch):
    headers = token(app, user("operator", KEC))
    missing = client.get("/api/v1/tidak-ada", headers=headers)
    assert missing.status_code == 404 and missing.mimetype == "application/json"
    assert missing.json == {"error": "NotFound", "message": "alamat API ini tidak ada"}
    assert client.post("/api/v1/tidak/ada").json["error"] == "NotFound"  # no CSRF page
    wrong = client.delete("/api/v1/tasks", headers=headers)
    assert wrong.status_code == 405 and wrong.json["error"] == "MethodNotAllowed"
    assert "metode DELETE tidak diterima" in wrong.json["message"]
    assert "GET" in wrong.headers["Allow"]
    assert client.put(f"{TASK}/submit", headers=headers).json["error"] == "MethodNotAllowed"
    # The task pages' own 404 (HTML) does not answer the API's.
    bad_hash = client.get("/api/v1/files/xyz", headers=headers)
    assert bad_hash.status_code == 404 and bad_hash.json["error"] == "NotFound"
    assert "sha256 'xyz' tidak dikenal" in bad_hash.json["message"]
    # A failure inside the API: JSON too, nothing said about it but that nothing changed.
    from engine.web import api

    def broken(*args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(api, "list_tasks", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    failed = client.get("/api/v1/tasks", headers=headers)
    assert failed.status_code == 500 and failed.json["error"] == "InternalServerError"
    assert "tidak ada yang diubah" in failed.json["message"]
    assert "locked" not in failed.get_data(as_text=True)
    # The site keeps its pages in Bahasa.
    sign_in(client, user("operator", KEC))
    page = client.get("/tidak-ada")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Tidak ditemukan" in page_text(page)
    get_only = client.get(f"{PAGE}/submit")
    assert get_only.status_code == 405 and "bukan untuk dibuka langsung" in page_text(get_only)


def test_the_task_lists_limit_is_1_or_more_and_capped(app, client):
    headers = token(app, user("supervisor", "19.01"))
    for limit in ("0", "-1", "dua"):
        answer = client.get(f"/api/v1/tasks?year={YEAR}&limit={limit}", headers=headers)
        assert answer.status_code == 400 and "limit" in answer.json["message"]
    one = client.get(f"/api/v1/tasks?year={YEAR}&limit=1", headers=headers).json["tasks"]
    assert len(one) == 1
    capped = client.get(f"/api/v1/tasks?year={YEAR}&limit=5000", headers=headers)
    assert capped.status_code == 200 and 1 < len(capped.json["tasks"]) <= 1000


# -- sizes and lengths -----------------------------------------------------------------------

def test_a_reason_over_the_cap_is_refused_everywhere_with_its_length(app, client):
    submit = client.post(f"{TASK}/submit", json={}, headers=token(app, user("operator", KEC)))
    assert submit.status_code == 200
    headers = token(app, user("verifikator", KEC))
    sign_in(client, user("verifikator", KEC))
    before = snapshot(app)
    answer = client.post(f"{TASK}/return", json={"reason": "x" * 2001}, headers=headers)
    assert answer.status_code == 422 and answer.json["error"] == "Refused"
    assert answer.json["message"] == ("alasan terlalu panjang (2.001 huruf); paling banyak "
                                      "2.000 huruf")
    token_ = csrf_token(client.get(PAGE).data)
    page = client.post(f"{PAGE}/return", data={"version": "2", "csrf_token": token_,
                                               "reason": "x" * 2500}, follow_redirects=True)
    assert "alasan terlalu panjang (2.500 huruf)" in page_text(page)
    page = client.post(f"{PAGE}/kembalikan", data={"version": "2", "csrf_token": token_,
                                                   "trigger": "return", "reason": "x" * 2500},
                       follow_redirects=True)
    assert "Alasan terlalu panjang" in page_text(page)
    assert snapshot(app) == before
    done = client.post(f"{TASK}/return", json={"reason": "x" * 2000}, headers=headers)
    assert done.status_code == 200


def test_bodies_over_the_limit_are_413_and_uploads_keep_their_own(app, client):
    headers = token(app, user("operator", KEC))
    before = snapshot(app, counters=False)
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    huge = json.dumps({"reason": "x" * (20 * 1024 * 1024)})
    answer = client.post(f"{TASK}/submit", data=huge, headers=headers,
                         content_type="application/json")
    assert answer.status_code == 413 and answer.json["error"] == "RequestEntityTooLarge"
    assert "paling besar 16 MB" in answer.json["message"]
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    login = client.get("/masuk")
    answer = client.post("/masuk", data={"username": "x" * 200_000, "password": "y",
                                         "csrf_token": csrf_token(login.data)})
    assert answer.status_code == 413 and "melebihi batas ukuran" in page_text(answer)
    sign_in(client, user("operator", KEC))
    # The spreadsheet import takes more than the app's limit: its own answer, not a 413.
    token_ = csrf_token(client.get(PAGE).data)
    upload = client.post(f"{PAGE}/impor", content_type="multipart/form-data",
                         data={"csrf_token": token_, "berkas": (io.BytesIO(b"a" * 300_000),
                                                                "besar.csv")})
    assert upload.status_code != 413 and upload.status_code < 500
    assert "Berkas terlalu besar" not in page_text(upload)
    assert {k: v for k, v in snapshot(app, counters=False).items() if k != "web_sessions"} == \
        {k: v for k, v in before.items() if k != "web_sessions"}


def test_a_sign_in_name_longer_than_any_username_is_refused_before_it_is_counted(app, client):
    before = snapshot(app)
    login = client.get("/masuk")
    answer = client.post("/masuk", data={"username": "u" * 81, "password": "x",
                                         "csrf_token": csrf_token(login.data)})
    assert answer.status_code == 400
    assert "Isian &#39;username&#39; terlalu panjang (paling banyak 80 huruf)" in page_text(answer)
    answer = client.post("/masuk", data={"username": "u", "password": "p" * 1001,
                                         "csrf_token": csrf_token(login.data)})
    assert answer.status_code == 400 and "paling banyak 1.000 huruf" in page_text(answer)
    assert snapshot(app) == before


# -- headers ---------------------------------------------------------------------------------

def test_every_response_carries_the_security_headers(app, client):
    headers = token(app, user("operator", KEC))
    sign_in(client, user("operator", KEC))
    for answer in (client.get("/masuk"), client.get("/tugas"), client.get(PAGE),
                   client.get("/healthz"), client.get("/static/aksi.css"),
                   client.get("/tidak-ada"), client.get("/api/v1/tasks", headers=headers),
                   client.get("/api/v1/tidak-ada"), client.get(f"/tugas/{YEAR}/{KEC}%00/x")):
        assert answer.headers["Content-Security-Policy"] == POLICY
        assert "frame-ancestors 'none'" in POLICY and "script-src 'self'" in POLICY
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in answer.headers
    # Pages are still compressed, static files still fingerprinted.
    listed = client.get("/tugas", headers={"Accept-Encoding": "gzip"})
    assert listed.headers["Content-Encoding"] == "gzip"
    page = page_text(client.get("/tugas"))
    css = re.search(r'href="(/static/aksi\.css\?v=[0-9a-f]{12})"', page).group(1)
    static = client.get(css)
    assert "immutable" in static.headers["Cache-Control"]
    assert static.headers["Content-Security-Policy"] == POLICY


def test_behind_https_cookies_are_secure_and_hsts_is_sent(started):
    app = create_app({"DATABASE_URL": started.url, "SECRET_KEY": "k" * 32, "HTTPS": 1})
    try:
        client = app.test_client()
        answer = client.get("/masuk")
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert "Secure" in answer.headers["Set-Cookie"]
        assert app.config["SESSION_COOKIE_SECURE"] is True
    finally:
        app.extensions["aksi.db"].dispose()


def test_a_weak_secret_key_is_refused_outside_testing_and_never_shown(started, monkeypatch):
    monkeypatch.delenv("AKSI_SECRET_KEY", raising=False)
    for weak in ("Zq9!", "e2e", "bench", "Q" * 31):
        with pytest.raises(ConfigurationError, match="too short") as refused:
            create_app({"DATABASE_URL": started.url, "SECRET_KEY": weak})
        assert weak not in str(refused.value)
    monkeypatch.setenv("AKSI_SECRET_KEY", "rahasia")
    with pytest.raises(ConfigurationError, match="AKSI_SECRET_KEY is too short"):
        create_app({"DATABASE_URL": started.url})
    app = create_app({"DATABASE_URL": started.url, "SECRET_KEY": "k" * 32})
    app.extensions["aksi.db"].dispose()
    testing = create_app({"DATABASE_URL": started.url, "SECRET_KEY": "t", "TESTING": True})
    testing.extensions["aksi.db"].dispose()


def test_aksi_serve_refuses_a_weak_key_in_words_without_showing_it(started):
    from click.testing import CliRunner

    from engine.cli import main

    result = CliRunner().invoke(main, ["--db", started.url, "serve", "--no-clock"],
                                env={"AKSI_SECRET_KEY": "abc123"})
    assert result.exit_code == 1
    assert "AKSI_SECRET_KEY is too short" in result.output and "abc123" not in result.output


def test_health_says_only_that_the_service_is_up(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json == {"status": "ok"}


# -- the pages satisfy their Content-Security-Policy -------------------------------------------

class _Inline(HTMLParser):
    """What ``POLICY`` would block in a page: inline scripts (a JSON data block is not one),
    ``style`` elements and attributes, event-handler attributes, ``javascript:`` URLs, and
    scripts, style sheets, images and form targets from another origin."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.scripts = self.data_blocks = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "style":
            self.blocked.append("<style>")
        if tag == "script":
            if found.get("src"):
                self.scripts += 1
            elif found.get("type") == "application/json":
                self.data_blocks += 1
            else:
                self.blocked.append(f"inline script {attrs}")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.blocked.append(f"<{tag} {name}=...>")
            if name in ("src", "href", "action") and value is not None:
                if value.strip().lower().startswith("javascript:"):
                    self.blocked.append(f"<{tag} {name}={value}>")
                if (name != "href" or tag == "link") and not _same_origin(value):
                    self.blocked.append(f"<{tag} {name}={value}> from elsewhere")


def _same_origin(url: str) -> bool:
    return url == "" or url.startswith("data:") or (url.startswith("/") and not url.startswith("//"))


def blocked_by_the_policy(html: str) -> _Inline:
    found = _Inline()
    found.feed(html)
    return found


def test_no_template_has_inline_script_style_or_handler():
    from pathlib import Path

    import engine.web

    templates = Path(engine.web.__file__).parent / "templates"
    for path in templates.rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", source), path
        for script in re.findall(r"<script[^>]*>", source):
            assert "src=" in script or 'type="application/json"' in script, (path, script)


@pytest.fixture
def juknis_app(regions, juknis_defs):  # noqa: F811
    """The shipped forms (parts by unit): the Puskesmas part of the analysis saved, as
    the Puskesmas operator and verifikator see it."""
    from engine.people import add_user
    from engine.runtime import save_on, start_year
    from forms.test_parts import name, part_of

    with regions.session() as s:
        start_year(s, juknis_defs, YEAR, province="19", now=NOW)
        for role in ("operator", "verifikator"):
            add_user(s, juknis_defs, name(role, "Puskesmas"), role=role, region=KEC,
                     unit="Puskesmas", password=PASSWORD, now=NOW)
        add_user(s, juknis_defs, "pengawas", role="supervisor", region="19.01",
                 password=PASSWORD, now=NOW)
    part = part_of(regions, "Puskesmas")
    with regions.session() as s:
        save_on(s, KEC, STAGE, YEAR, name("operator", "Puskesmas"), part, now=NOW)
    app = create_app({"DATABASE_URL": regions.url, "SECRET_KEY": "test", "TESTING": True})
    with time_machine.travel(NOW, tick=False):
        yield app
    app.extensions["aksi.db"].dispose()


def test_every_kind_of_page_satisfies_the_policy(juknis_app):
    from engine.runtime import act_on
    from forms.test_parts import name

    operator, verifikator = name("operator", "Puskesmas"), name("verifikator", "Puskesmas")
    pages = {}
    anonymous = juknis_app.test_client()
    pages["sign-in"] = anonymous.get("/masuk")
    client = juknis_app.test_client()
    sign_in(client, operator)
    pages["stage, the operator's form"] = client.get(PAGE)
    pages["task list"] = client.get("/tugas?lingkup=semua")
    pages["not found"] = client.get("/tidak-ada")
    token_ = csrf_token(pages["task list"].data)
    pages["import refused"] = client.post(
        f"{PAGE}/impor", content_type="multipart/form-data",
        data={"csrf_token": token_, "formulir": "kec_analisis_situasi",
              "berkas": (io.BytesIO(b"bukan;lembar\n1;2\n"), "isian.csv")})
    pages["form refused"] = client.post(f"{PAGE}/isian", data={
        "csrf_token": token_, "aksi": "simpan", "version": "1", "part_version": "1",
        "kec_analisis_situasi/tidak/ada": "1"})
    with juknis_app.extensions["aksi.db"].session() as s:
        act_on(s, KEC, STAGE, YEAR, "submit", operator, now=NOW)
    reviewer = juknis_app.test_client()
    sign_in(reviewer, verifikator)
    pages["stage, the review panel"] = reviewer.get(PAGE)
    pages["inbox"] = reviewer.get("/kotak-masuk")
    supervisor = juknis_app.test_client()
    sign_in(supervisor, "pengawas")
    pages["overview"] = supervisor.get("/pantau")
    for what, answer in pages.items():
        assert answer.headers["Content-Security-Policy"] == POLICY, what
        found = blocked_by_the_policy(page_text(answer))
        assert found.blocked == [], what
        assert found.scripts >= 1, what  # restore.js at least: the check saw the scripts
    assert blocked_by_the_policy(page_text(pages["stage, the operator's form"])).data_blocks >= 1
    assert "data-aksi-rules" in page_text(pages["stage, the operator's form"])
    assert "Tinjauan" in page_text(pages["stage, the review panel"])
    assert pages["import refused"].status_code == 422
    assert pages["form refused"].status_code == 422
