"""The JSON API for other government systems, under ``/api/v1``.

Callers authenticate with a token (``Authorization: Bearer aksi_...``, issued by
``aksi users token``) and act as its user: the same region scope and role checks as
the pages. No cookie session is accepted here, so the API needs no CSRF token.

Errors are JSON (``{"error": "Conflict", "message": ..., ...context}``) with a status
that says what happened: 400 bad request, 401 no valid token, 403 outside the user's
scope or role, 404 not found, 409 changed by somebody else, 422 refused (wrong state,
reason missing, forms invalid). A refused action changes nothing. Every other error
status (404 of an unknown address, 405, 413, 500, ...) is JSON in the same shape too
(engine/web/problems.py), and bodies are checked before any view runs (engine/web/edge.py).

``limit`` of the task list: 1 or more (else 400), at most `MAX_LIMIT` (a larger one is
clamped to it); ``year``: `MIN_YEAR`-`MAX_YEAR` (else 400).
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import default_exceptions

from ..clock import utcnow
from ..errors import AksiError, Conflict, NotFound, NotPermitted, Refused
from ..people import can_see, token_actor
from ..forms import documents as printable
from ..forms import spec_of
from ..forms.files import open_download, store_upload
from ..runtime import act_on, find_task, list_tasks, progress, save_on, show_forms, view
from ..store.library import pinned
from .downloads import send_download
from .problems import API_PREFIX, api_problem, json_problem
from .store import database
from .years import MAX_YEAR, MIN_YEAR

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
DEFAULT_LIMIT, MAX_LIMIT = 200, 1000
_STATUS = ((NotFound, 404), (NotPermitted, 403), (Conflict, 409), (Refused, 422))
_problem = json_problem
for _code in default_exceptions:  # JSON for every HTTP error raised within the API
    bp.register_error_handler(_code, api_problem)


class _BadArgument(ValueError):
    pass


def _year_arg() -> int:
    try:
        year = int(request.args.get("year", utcnow().year))
    except ValueError:
        raise _BadArgument("year harus bilangan bulat") from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _BadArgument(f"year harus antara {MIN_YEAR} dan {MAX_YEAR}")
    return year


def _limit_arg() -> int:
    try:
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise _BadArgument("limit harus bilangan bulat") from None
    if limit < 1:
        raise _BadArgument(f"limit harus 1 atau lebih (paling banyak {MAX_LIMIT}; yang lebih "
                           "besar dibatasi sampai itu)")
    return min(limit, MAX_LIMIT)


def _refusal(exc: AksiError):
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    return jsonify(exc.as_dict()), status


@bp.before_request
def _authenticate():
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    who = None
    if scheme.lower() == "bearer" and secret.strip():
        with database().session() as session:
            who = token_actor(session, secret.strip())
    if who is None:
        answer, status = _problem(401, "Unauthorized",
                                  "token API tidak ada, tidak dikenal atau sudah dicabut")
        answer.headers["WWW-Authenticate"] = 'Bearer realm="aksi"'
        return answer, status
    g.api_actor = who


def _forbidden(region: str):
    return _problem(403, "NotPermitted", f"{g.api_actor.username} tidak berhak melihat "
                                          f"wilayah {region}", region=region)


@bp.get("/tasks")
def tasks():
    args = request.args
    try:
        year, limit = _year_arg(), _limit_arg()
    except _BadArgument as exc:
        return _problem(400, "BadRequest", str(exc))
    with database().session() as session:
        found = list_tasks(session, user=g.api_actor, year=year,
                           overdue=args.get("overdue") in ("1", "true"),
                           actionable=args.get("actionable") in ("1", "true"),
                           region=args.get("region"), level=args.get("level"),
                           stage=args.get("stage"), limit=limit)
    return jsonify({"year": year, "tasks": [t.as_dict() for t in found]})


@bp.get("/tasks/<int:year>/<region>/<stage>")
def task(year: int, region: str, stage: str):
    if not can_see(g.api_actor, region):
        return _forbidden(region)
    try:
        with database().session() as session:
            shown = view(session, find_task(session, region, stage, year), user=g.api_actor)
    except AksiError as exc:
        return _refusal(exc)
    return jsonify(shown.as_dict())


@bp.post("/tasks/<int:year>/<region>/<stage>/<trigger>")
def act(year: int, region: str, stage: str, trigger: str):
    if not can_see(g.api_actor, region):
        return _forbidden(region)
    body = request.get_json(silent=True)
    if body is None and request.get_data():
        return _problem(400, "BadRequest", "badan permintaan bukan JSON yang sah")
    body = body or {}
    if not isinstance(body, dict) or not isinstance(body.get("data", {}), dict) \
            or type(body.get("expected_version", 0)) not in (int, type(None)) \
            or not isinstance(body.get("reason", ""), (str, type(None))):
        return _problem(400, "BadRequest", "badan permintaan harus objek JSON: "
                        '{"reason": teks, "data": objek, "expected_version": bilangan bulat}')
    try:
        with database().session() as session:
            done = act_on(session, region, stage, year, trigger, g.api_actor.username,
                          reason=body.get("reason"), data=body.get("data"),
                          expected_version=body.get("expected_version"))
    except AksiError as exc:
        return _refusal(exc)
    return jsonify(done.as_dict())


@bp.get("/progress")
def year_progress():
    try:
        year = _year_arg()
    except _BadArgument as exc:
        return _problem(400, "BadRequest", str(exc))
    areas = {a.region_code for a in g.api_actor.assignments}
    with database().session() as session:
        rows = progress(session, areas, year)
    return jsonify({"year": year, "areas": sorted(areas), "stages": [r.as_dict() for r in rows]})


# -- forms: read, save a part, attach, download, documents -----------------------------------

@bp.get("/forms/<int:year>/<region>/<stage>")
def forms(year: int, region: str, stage: str):
    """The stage's documents: every part's state, the data, problems, completeness, and last
    year's approved values."""
    if not can_see(g.api_actor, region):
        return _forbidden(region)
    try:
        with database().session() as session:
            shown = show_forms(session, region, stage, year, user=g.api_actor)
    except AksiError as exc:
        return _refusal(exc)
    return jsonify(shown.as_dict())


@bp.put("/forms/<int:year>/<region>/<stage>")
def save_forms(year: int, region: str, stage: str):
    """Save a draft of the caller's part: ``{"data": {form: patch}, "unit", "expected_version"}``."""
    if not can_see(g.api_actor, region):
        return _forbidden(region)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict) \
            or type(body.get("expected_version", 0)) not in (int, type(None)) \
            or not isinstance(body.get("unit", ""), (str, type(None))):
        return _problem(400, "BadRequest", "badan permintaan harus objek JSON: "
                        '{"data": {formulir: {...}}, "unit": teks, "expected_version": bilangan bulat}')
    try:
        with database().session() as session:
            saved = save_on(session, region, stage, year, g.api_actor.username, body["data"],
                            unit=body.get("unit"), expected_version=body.get("expected_version"))
    except AksiError as exc:
        return _refusal(exc)
    return jsonify(saved.as_dict())


@bp.post("/forms/<int:year>/<region>/<stage>/files")
def attach(year: int, region: str, stage: str):
    """Upload a file (multipart: ``file``, ``field`` = form.section.field) for a stage; the
    answer is the file object to put in that field with a save."""
    if not can_see(g.api_actor, region):
        return _forbidden(region)
    upload, target = request.files.get("file"), request.form.get("field", "")
    form_id, _, path = target.partition(".")
    try:
        with database().session() as session:
            task = find_task(session, region, stage, year)
            definition = pinned(session, task.definition_hash)
            found = (spec_of(definition, form_id).find(path)
                     if form_id in definition.stage(stage).outputs else None)
            if upload is None or found is None or found[1].kind != "file":
                return _problem(400, "BadRequest", "kirim 'file' dan 'field' (formulir.bagian."
                                "isian) yang berupa isian berkas tahap ini")
            stored = store_upload(session, task=task, field=found[1], content=upload.read(),
                                  name=upload.filename or "berkas", username=g.api_actor.username,
                                  now=utcnow())
    except AksiError as exc:
        return _refusal(exc)
    return jsonify(stored), 201


@bp.get("/files/<sha256>")
def download(sha256: str):
    try:
        with database().session() as session:
            path, media_type, filename = open_download(session, sha256=sha256, user=g.api_actor)
    except AksiError as exc:
        return _refusal(exc)
    return send_download(path, media_type, filename)


@bp.get("/documents/<int:year>/<region>/<stage>")
def document(year: int, region: str, stage: str):
    """A stage's document as PDF (``?format=html`` for the print page, ``?form=`` for one
    of several)."""
    if not can_see(g.api_actor, region):
        return _forbidden(region)
    fmt = request.args.get("format", "pdf")
    if fmt not in ("pdf", "html"):
        return _problem(400, "BadRequest", "format harus pdf atau html")
    try:
        with database().session() as session:
            content, media_type, filename = printable.document(
                session, region=region, stage=stage, year=year, form=request.args.get("form"),
                fmt=fmt, user=g.api_actor)
    except AksiError as exc:
        return _refusal(exc)
    return send_download(content, media_type, filename)
