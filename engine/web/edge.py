"""The edge: every request is checked and bounded here before a view runs.

What a view may take for granted once the edge has let a request through:

- **no NUL and no lone surrogate** in the path, the query, a form field (name or value),
  an upload's file name or a JSON string: PostgreSQL stores neither (a NUL in a text
  parameter was a 500 there), and a lone surrogate cannot even be encoded. Refused with
  400 and a message in Bahasa Indonesia, before anything is read from or written to the
  store;
- **query values** of at most `QUERY_VALUE_MAX` characters; the sign-in's name and
  password within `FIELD_LIMITS` (other text fields are bounded where they are kept: a
  reason by ``engine.runtime.reasons.REASON_MAX``, form data by its schema's
  ``maxLength``);
- **a body within ``MAX_CONTENT_LENGTH``** (config key, env ``AKSI_MAX_CONTENT_LENGTH``,
  default 16 MiB in `DEFAULTS`): a larger one is a 413. A view that takes more
  (the form save of ``form_entry``, the spreadsheet import of ``sheets``) raises its own
  request's limit; the edge parses a form early only when the body fits the limit in
  force at that moment, and otherwise leaves the parse to the view, under the view's
  limit. Form fields are checked however late they are parsed: the request class's form
  parser checks what it parsed (`CheckedRequest`);
- **address parts by pattern** (view arguments of the same name in every blueprint):
  ``year`` within `years.MIN_YEAR`-`years.MAX_YEAR` (a year above 2^31 was a 500 on
  PostgreSQL, above 2^63 on SQLite), ``region`` a Kemendagri code, ``stage`` and
  ``trigger`` ids as the definitions' schema allows them, ``form`` an id, ``sha256``
  64 hex digits. Anything else is a 404: no such page exists;
- **JSON bodies** (the API's) parsed strictly: at most `MAX_JSON_DEPTH` levels of
  nesting, numbers finite (no ``NaN``/``Infinity``, no float overflowing to infinity) and
  integers within +/-2^53 (what every JSON reader keeps exactly), strings without NUL or
  lone surrogates. Refused with 400 and the reason.

Refusals are `problems.Refusal` exceptions (HTTP errors whose description is a Bahasa
message for people), answered by the app's error handlers (engine/web/problems.py): an
HTML page on the site, the API's JSON problem under its prefix. An API address that matches no route (404) or not with this
method (405) is answered here with the API's JSON, before the site's handlers could
answer it as a page.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Iterable

from flask import Flask, Request, abort, request
from flask import json as flask_json
from werkzeug.exceptions import HTTPException
from werkzeug.formparser import FormDataParser

from ..store.models import User
from .problems import BadInput, NoSuchAddress, api_problem, is_api_path
from .years import MAX_YEAR, MIN_YEAR

DEFAULTS = {"MAX_CONTENT_LENGTH": 16 * 1024 * 1024}  # an attachment (10 MB) and its form
QUERY_VALUE_MAX = 2000
MAX_JSON_DEPTH = 32  # a form patch is ~8 deep: {data: {form: {section: {row: {field: [..]}}}}}
JSON_INT_MAX = 2 ** 53
# Fields no view bounds itself: a sign-in name longer than any username (a 500 once: the
# column is VARCHAR(80) on PostgreSQL), a password long enough to keep the hash busy.
FIELD_LIMITS = {"auth.login": {"username": User.__table__.c.username.type.length,
                               "password": 1000}}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

_UNCLEAN = re.compile("[\x00\ud800-\udfff]")
_ID = r"[a-z][a-z0-9_]{0,99}"
PATTERNS = {
    "region": re.compile(r"[0-9]{2}(?:\.[0-9]{2}){0,2}(?:\.[0-9]{4})?"),
    "stage": re.compile(_ID),
    "trigger": re.compile(_ID),
    "form": re.compile(_ID),
    "sha256": re.compile(r"[0-9a-f]{64}"),
}


def is_clean(text: str) -> bool:
    """No NUL and no lone surrogate (neither can be stored in PostgreSQL text)."""
    return _UNCLEAN.search(text) is None


def _unclean(where: str) -> BadInput:
    return BadInput(f"{where} berisi karakter yang tidak sah (karakter NUL atau kode Unicode "
                    "yang tidak lengkap); tidak ada yang diubah.")


# -- form fields, checked wherever they are parsed -------------------------------------------

class CheckedFormParser(FormDataParser):
    """Werkzeug's form parser, refusing (`BadInput`) a field name, value or upload file
    name with a NUL or a lone surrogate once the body is parsed."""

    def parse(self, *args: Any, **kwargs: Any):
        stream, form, files = super().parse(*args, **kwargs)
        for name, value in form.items(multi=True):
            if name is None:  # a part whose header names nothing readable
                raise BadInput("Ada isian tanpa nama yang sah; tidak ada yang diubah.")
            if not is_clean(name) or not is_clean(value):
                raise _unclean(f"Isian '{_shown(name)}'")
        for name, upload in files.items(multi=True):
            if name is None:
                raise BadInput("Ada berkas tanpa nama isian yang sah; tidak ada yang diubah.")
            if not is_clean(name) or not is_clean(upload.filename or ""):
                raise _unclean(f"Nama berkas pada isian '{_shown(name)}'")
        return stream, form, files


def _shown(name: str, limit: int = 40) -> str:
    """A field name fit to quote in a message (what cannot be shown replaced)."""
    return _UNCLEAN.sub("\ufffd", name[:limit]) + ("…" if len(name) > limit else "")


# -- JSON, parsed strictly --------------------------------------------------------------------

class JSONRefused(ValueError):
    """A JSON body the API does not take; the message says why, in Bahasa Indonesia."""


def _refuse_constant(name: str) -> Any:
    raise JSONRefused(f"JSON berisi {name}: hanya bilangan terhingga yang diterima")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JSONRefused(f"bilangan {text[:40]} di luar jangkauan")
    return number


def _bounded_int(text: str) -> int:
    if len(text) > 20 or abs(number := int(text)) > JSON_INT_MAX:
        raise JSONRefused(f"bilangan bulat {text[:40]}{'…' if len(text) > 40 else ''} di luar "
                          "jangkauan (paling besar 2^53)")
    return number


def strict_loads(data: str | bytes, **_kwargs: Any) -> Any:
    """``json.loads`` that raises `JSONRefused` on what the module docstring lists."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float,
                           parse_int=_bounded_int)
    except RecursionError:
        raise JSONRefused(f"JSON terlalu dalam (lebih dari {MAX_JSON_DEPTH} tingkat)") from None
    except JSONRefused:
        raise
    except json.JSONDecodeError as exc:
        raise JSONRefused(f"badan permintaan bukan JSON yang sah (baris {exc.lineno}, kolom "
                          f"{exc.colno}: {exc.msg})") from None
    except ValueError:  # not UTF-8 (nor UTF-16/32)
        raise JSONRefused("badan permintaan bukan JSON yang sah (bukan teks UTF-8)") from None
    _inspect(value)
    return value


def _inspect(value: Any) -> None:
    """Depth and strings of a parsed JSON value, without recursion."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if not is_clean(item):
                raise JSONRefused("teks dalam JSON berisi karakter NUL atau kode Unicode yang "
                                  "tidak lengkap")
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise JSONRefused(f"JSON terlalu dalam (lebih dari {MAX_JSON_DEPTH} tingkat)")
        children: Iterable[Any] = item
        if isinstance(item, dict):
            children = list(item.values())
            pending.extend((key, depth) for key in item)
        pending.extend((child, depth + 1) for child in children)


class _StrictJSON:
    """What `CheckedRequest.get_json` parses with (dumping stays Flask's)."""

    loads = staticmethod(strict_loads)
    dumps = staticmethod(flask_json.dumps)


class CheckedRequest(Request):
    """The app's request: forms parsed by `CheckedFormParser`, JSON by `strict_loads`;
    a refused JSON body is a `BadInput` saying why."""

    form_data_parser_class = CheckedFormParser

    @property
    def json_module(self) -> Any:
        return _StrictJSON

    @json_module.setter
    def json_module(self, _provider: Any) -> None:
        """Flask hands each request the app's JSON provider; this class keeps its own."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, JSONRefused):
            raise BadInput(f"{e}; tidak ada yang diubah.")
        return super().on_json_loading_failed(e)


# -- the checks -------------------------------------------------------------------------------

def _check_address(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Path and query (400), then the address parts by pattern (404). The app's first URL
    value preprocessor: it runs before any blueprint's and before every before-request
    hook (the CSRF check, sign-in, the API's token)."""
    if not is_clean(request.path):
        raise _unclean("Alamat halaman")
    for name, value in request.args.items(multi=True):
        if not is_clean(name) or not is_clean(value):
            raise _unclean(f"Parameter '{_shown(name)}'")
        if len(value) > QUERY_VALUE_MAX:
            raise BadInput(f"Parameter '{_shown(name)}' terlalu panjang (paling banyak "
                           f"{QUERY_VALUE_MAX:,} huruf); tidak ada yang diubah."
                           .replace(",", "."))
    routing = request.routing_exception
    if isinstance(routing, HTTPException) and (routing.code or 0) >= 400 \
            and is_api_path(request.path):
        # Else the site's handlers (tasks' 404 page) would answer an API client in HTML.
        abort(api_problem(routing))
    for name, value in (values or {}).items():
        _check_part(name, value)


def _check_part(name: str, value: Any) -> None:
    if name == "year":
        if not MIN_YEAR <= value <= MAX_YEAR:
            raise NoSuchAddress(f"Tahun {_shown(str(value), 12)} di luar jangkauan "
                                f"({MIN_YEAR}–{MAX_YEAR}).")
        return
    pattern = PATTERNS.get(name)
    if pattern is not None and not pattern.fullmatch(str(value)):
        raise NoSuchAddress(f"Alamat ini tidak ada ({name} '{_shown(str(value))}' tidak "
                            "dikenal).")


def _check_fields() -> None:
    """`FIELD_LIMITS` of the endpoint, on a parsed form."""
    for name, limit in FIELD_LIMITS.get(request.endpoint or "", {}).items():
        if len(request.form.get(name, "")) > limit:
            raise BadInput(f"Isian '{name}' terlalu panjang (paling banyak {limit:,} huruf); "
                           "tidak ada yang diubah.".replace(",", "."))


def _check_body() -> None:
    """Parse (and so check) a form body that fits the limit in force, and an API JSON
    body; before the CSRF check and every view. A larger form is left to its view, which
    may take more (see the module docstring) and parses it with the same checks."""
    if request.mimetype in FORM_TYPES:
        limit, length = request.max_content_length, request.content_length
        if limit is None or (length is not None and length <= limit):
            request.form  # noqa: B018 - parsing checks it (CheckedFormParser)
            _check_fields()
    elif request.is_json and request.content_length and is_api_path(request.path):
        request.get_json()  # strict; a refusal is a BadInput (CheckedRequest)


def init_app(app: Flask) -> None:
    """Install the checks. Call before any blueprint registers its hooks and before the
    CSRF protection, so that they run first."""
    for key, value in DEFAULTS.items():
        if app.config.get(key) is None:
            app.config[key] = value
    app.request_class = CheckedRequest
    app.url_value_preprocessor(_check_address)
    app.before_request(_check_body)


