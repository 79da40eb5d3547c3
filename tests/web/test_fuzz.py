"""Property-based fuzzing of every route of the app (hypothesis), on every backend.

The routes are read from the app's own ``url_map``, so a route added later is fuzzed too.
Each example is one request: a route, a method (now and then one the route does not
take), its address parts (valid ones, years up to 2^70, codes and ids of any text with
NUL, lone surrogates, emoji and 3,000-character strings), a query, and for a POST a form
with the session's valid CSRF token (urlencoded, or multipart with an upload whose names
may be anything) or for the API a JSON body (NaN, infinities, huge numbers, deep nesting,
``\\u0000`` and lone surrogates escaped the way JSON allows, or text that is no JSON at
all). The pages are requested signed in as the operator of the test kecamatan, the API
with that user's token, the sign-in as nobody.

The properties: no answer is a server error (status < 500), and a refused request
(status >= 400) leaves the database exactly as it was (rows of every table and the sum
of every version column; the sign-in counters are left out: a refused sign-in is
counted by design). Accepted requests may change it, as they would for a person: the
examples run one after another on the same database.

Bounded for speed: ``derandomize`` (the same examples every run), ``max_examples`` per
test, no deadline; the whole file takes well under a minute per backend.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.support import YEAR, user

from .conftest import KEC, csrf_token, sign_in
from .test_edge import snapshot, token

SKIPPED = {"static", "auth.logout"}  # files on disk; signing out ends the fuzzing session
METHODS = ("GET", "POST", "PUT", "DELETE")
FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example])

# -- values --------------------------------------------------------------------------------------

NASTY = ["x" * 81, "\x00", "a\x00b", "\ud800", "x\udfffy", "%00", "😀", "x" * 3000, "' OR 1=1 --",
         "../../etc/passwd", "<script>alert(1)</script>", " ", "", "١٢٣", "1e400", "NaN",
         str(2 ** 31), str(2 ** 63), str(2 ** 64), "-1", "0"]
# Any code point, surrogates (category Cs) and NUL included.
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
TEXT = st.one_of(st.sampled_from(NASTY), st.text(ANY_CHAR, max_size=30),
                 st.integers(-2 ** 70, 2 ** 70).map(str))
YEARS = st.one_of(st.just(YEAR), st.sampled_from([0, 1999, 2101, 2 ** 31, 2 ** 63, 2 ** 64]),
                  st.integers(0, 2 ** 70))
STAGES = ["analisis_situasi", "pra_musrenbang", "tidak_ada"]
PARTS = {
    "year": YEARS,
    "region": st.one_of(st.sampled_from([KEC, "19.01", "19", "19.02.01", "19.01.01.2001"]), TEXT),
    "stage": st.one_of(st.sampled_from(STAGES), TEXT),
    "trigger": st.one_of(st.sampled_from(["submit", "verify", "approve", "return", "reopen"]),
                         TEXT),
    "form": st.one_of(st.sampled_from(["analisis_situasi", "kec_analisis_situasi"]), TEXT),
    "sha256": st.one_of(st.just("0" * 64), TEXT),
}
QUERY_NAMES = ["tahun", "halaman", "lingkup", "terlambat", "tingkat", "tahap", "status", "year",
               "limit", "region", "level", "stage", "overdue", "actionable", "format", "form",
               "unit", "next", "v"]
FORM_NAMES = ["version", "part_version", "reason", "trigger", "aksi", "unit", "cell", "baris",
              "isian", "formulir", "uji", "hapus", "username", "password",
              "analisis_situasi/desa/19.01.01.2001/x"]
NAMES = st.one_of(st.sampled_from(QUERY_NAMES + FORM_NAMES), TEXT)
VALUES = st.one_of(TEXT, st.sampled_from(["1", "2", "semua", "simpan", "kirim", "return", "pdf"]))

JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
                        st.floats(allow_nan=True, allow_infinity=True), TEXT)
JSON_VALUES = st.recursive(
    JSON_LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                         st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12)
JSON_BODIES = st.one_of(
    st.fixed_dictionaries({}, optional={"reason": JSON_VALUES, "data": JSON_VALUES,
                                        "expected_version": JSON_VALUES,
                                        "unit": JSON_VALUES}).map(
                                            lambda v: json.dumps(v, allow_nan=True)),
    JSON_VALUES.map(lambda v: json.dumps(v, allow_nan=True)),
    st.integers(1, 20_000).map(lambda n: '{"data": ' + "[" * n + "]" * n + "}"),
    st.sampled_from(['{"reason": "\\u0000"}', '{"reason": "\\ud800"}', '{"data": NaN}',
                     '{"expected_version": 1e999}', "bukan json", '{"a": 1,}', "\x00", ""]),
)


def encoded(text: str) -> str:
    """Percent-encoded as a client would send it; a lone surrogate goes as the bytes
    Python would give it (the server sees invalid UTF-8)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def query_string(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{encoded(k)}={encoded(v)}" for k, v in pairs)


def address(rule, parts: dict[str, object]) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: encoded(str(parts[m.group(1)])),
                  rule.rule)


@st.composite
def requests(draw, rules):
    rule = draw(st.sampled_from(rules))
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    method = draw(st.one_of(st.sampled_from(methods), st.sampled_from(METHODS))) \
        if draw(st.integers(0, 9)) == 0 else draw(st.sampled_from(methods))
    parts = {name: draw(PARTS.get(name, TEXT)) for name in rule.arguments}
    query = draw(st.lists(st.tuples(NAMES, VALUES), max_size=3))
    body = None
    if method in ("POST", "PUT"):
        if draw(st.integers(0, 3)) == 0:  # a form with an upload, the API's included
            fields = draw(st.lists(st.tuples(NAMES, VALUES), max_size=4))
            upload = (draw(st.sampled_from(["berkas", "file"])), draw(TEXT),
                      draw(st.binary(max_size=200)))
            body = (MULTIPART, (fields, upload))
        elif rule.endpoint.startswith("api."):
            body = ("application/json", draw(JSON_BODIES))
        else:
            fields = draw(st.lists(st.tuples(NAMES, VALUES), max_size=5))
            body = ("application/x-www-form-urlencoded", fields)
    return rule, method, address(rule, parts), query_string(query), body


MULTIPART = "multipart/form-data; boundary=aksi-fuzz"


def multipart(fields: list[tuple[str, str]], upload: tuple[str, str, bytes]) -> bytes:
    """A multipart body written by hand: names and file names may hold anything (a lone
    surrogate goes as its invalid UTF-8 bytes), which no client library would send."""
    def raw(text: str) -> bytes:
        return text.encode("utf-8", "surrogatepass")

    out = b""
    for name, value in fields:
        out += (b"--aksi-fuzz\r\nContent-Disposition: form-data; name=\"" + raw(name)
                + b"\"\r\n\r\n" + raw(value) + b"\r\n")
    name, filename, content = upload
    out += (b"--aksi-fuzz\r\nContent-Disposition: form-data; name=\"" + raw(name)
            + b"\"; filename=\"" + raw(filename) + b"\"\r\nContent-Type: "
            b"application/octet-stream\r\n\r\n" + content + b"\r\n--aksi-fuzz--\r\n")
    return out


# -- the properties ------------------------------------------------------------------------------

def check(app, client, request, *, headers=None, csrf: str | None = None):
    rule, method, path, query, body = request
    kwargs = {"headers": headers or {}}
    token = [("csrf_token", csrf)] if csrf else []
    if body is not None:
        kind, content = body
        if kind == MULTIPART:
            fields, upload = content
            data = multipart(token + fields, upload)
        elif kind == "application/json":
            data = content.encode("utf-8", "surrogatepass")
        else:
            data = query_string(token + list(content)).encode("ascii")
        kwargs.update(data=data, content_type=kind)
    before = snapshot(app, counters=False)
    answer = client.open(path + (f"?{query}" if query else ""), method=method, **kwargs)
    said = f"{method} {path}?{query} {body!r:.300} -> {answer.status_code}"
    assert answer.status_code < 500, said
    if answer.status_code >= 400:
        assert snapshot(app, counters=False) == before, said


def fuzzed_rules(app, *, api: bool | None = None, endpoints: set[str] | None = None):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED]
    if endpoints is not None:
        return [r for r in rules if r.endpoint in endpoints]
    return [r for r in rules if r.endpoint.startswith("api.") == api]


@pytest.fixture
def signed_in(app, client):
    sign_in(client, user("operator", KEC))
    return client, csrf_token(client.get("/tugas").data)


def test_the_pages_never_fail_and_refusals_change_nothing(app, signed_in):
    client, csrf = signed_in
    rules = fuzzed_rules(app, api=False)
    assert {"tasks.act", "review.send_back", "form_entry.save", "sheets.upload"} <= {
        r.endpoint for r in rules}

    @FUZZ
    @given(requests(rules))
    def fuzz(request):
        check(app, client, request, csrf=csrf)

    fuzz()


def test_the_api_never_fails_and_refusals_change_nothing(app, client):
    headers = token(app, user("operator", KEC))
    rules = fuzzed_rules(app, api=True)
    assert {"api.act", "api.save_forms", "api.tasks"} <= {r.endpoint for r in rules}

    @FUZZ
    @given(requests(rules))
    def fuzz(request):
        check(app, client, request, headers=headers)

    fuzz()


def test_the_sign_in_never_fails_for_anybody(app, client):
    csrf = csrf_token(client.get("/masuk").data)
    rules = fuzzed_rules(app, endpoints={"auth.login", "tasks.index", "health.healthz"})

    @settings(FUZZ, max_examples=30)
    @given(requests(rules))
    def fuzz(request):
        check(app, client, request, csrf=csrf)

    fuzz()
