"""Errors in words: what the site and the API answer when a request goes wrong.

- On the site, an HTML page in Bahasa Indonesia that says what to do (`SITE_ERRORS`; the
  task pages' own 403 and 404 pages are in ``tasks``), 405 and 500 included.
- Under the API's prefix, JSON in the API's one error shape, ``{"error", "message", ...}``
  (the shape `engine.errors.AksiError.as_dict` gives the API and ``--json`` of the CLI),
  for every error status: `json_problem` builds it, `api_problem` for an HTTP error.
  ``error`` is the status's name without spaces (``NotFound``, ``MethodNotAllowed``,
  ``RequestEntityTooLarge``, ``InternalServerError``), ``message`` Bahasa Indonesia.

A `Refusal` (the edge's, see edge.py) carries its own message, shown as it is on both.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, NotFound

from . import auth

API_PREFIX = "/api/v1"

# HTTP errors not answered elsewhere, in words a person can act on.
SITE_ERRORS = {
    400: ("Permintaan tidak sah", "Permintaan ini tidak dapat diproses. Tidak ada yang diubah."),
    405: ("Alamat ini bukan untuk dibuka langsung",
          "Alamat ini hanya menerima kiriman formulir. Buka kembali halaman tahapnya lalu "
          "ulangi tindakan Anda; tidak ada yang diubah."),
    413: ("Berkas terlalu besar", "Kiriman ini melebihi batas ukuran. Tidak ada yang diubah."),
    429: ("Terlalu banyak permintaan", "Tunggu sebentar lalu coba lagi."),
}
SERVER_ERROR = ("Permintaan Anda tidak dapat diselesaikan dan tidak ada yang diubah. Coba lagi "
                "sebentar lagi; bila terus terjadi, hubungi admin.")
API_ERRORS = {
    400: "permintaan tidak sah; tidak ada yang diubah",
    401: "token API tidak ada, tidak dikenal atau sudah dicabut",
    403: "tidak berhak",
    404: "alamat API ini tidak ada",
    413: "badan permintaan melebihi batas ukuran; tidak ada yang diubah",
    415: "jenis isi permintaan tidak diterima",
    429: "terlalu banyak permintaan; tunggu sebentar lalu coba lagi",
    500: "terjadi kesalahan di server dan tidak ada yang diubah; coba lagi sebentar lagi",
}


class Refusal(HTTPException):
    """Marks an HTTP error whose ``description`` is a message for people, in Bahasa
    Indonesia, shown as it is by the site's pages and the API."""


class BadInput(Refusal, BadRequest):
    """400: the request carries something no view can take."""


class NoSuchAddress(Refusal, NotFound):
    """404: an address part out of range or pattern: no page can exist there."""


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def json_problem(status: int, error: str, message: str, **context):
    """The API's error answer: ``({"error", "message", **context}, status)``."""
    return jsonify({"error": error, "message": message, **context}), status


def api_problem(error: HTTPException):
    """An HTTP error as the API's JSON problem (a response with its status; ``Allow`` after
    a 405)."""
    code = error.code or 500
    if isinstance(error, Refusal):
        message = error.description
    elif code == 405:
        allowed = ", ".join(getattr(error, "valid_methods", None) or ())
        message = f"metode {request.method} tidak diterima di alamat ini" + (
            f" (yang diterima: {allowed})" if allowed else "")
    elif code == 413:
        limit = request.max_content_length
        message = API_ERRORS[413] + (f" ({_size(limit)})" if limit else "")
    else:
        message = API_ERRORS.get(code, "permintaan tidak dapat dilayani; tidak ada yang diubah")
    answer, answer.status_code = json_problem(code, error.name.replace(" ", ""), message)
    for name, value in error.get_headers():
        if name.lower() in ("allow", "www-authenticate", "retry-after"):
            answer.headers[name] = value
    return answer


def _size(limit: int) -> str:
    return f"paling besar {limit / (1024 * 1024):.1f} MB".replace(".0 MB", " MB").replace(".", ",")


def site_problem(error: HTTPException):
    """An HTTP error as the site's page."""
    code = error.code or 500
    title, message = SITE_ERRORS.get(code, ("Permintaan tidak dapat dilayani",
                                            "Tidak ada yang diubah."))
    if code == 500:
        title, message = "Terjadi kesalahan", SERVER_ERROR
    if isinstance(error, Refusal):
        message = error.description
    headers = {k: v for k, v in error.get_headers() if k.lower() in ("allow", "retry-after")}
    return render_template("error.html", title=title, message=message), code, headers


def answer(error: HTTPException):
    return api_problem(error) if is_api_path(request.path) else site_problem(error)


def init_app(app: Flask) -> None:
    """The site's error handlers; the API blueprint has its own for every status (api.py),
    since the task pages' 403 and 404 handlers would otherwise answer it."""

    @app.errorhandler(500)
    def failed(error):
        # Flask has logged the exception; the person gets words they can act on.
        return answer(error)

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError):
        if is_api_path(request.path):
            return api_problem(BadRequest())
        # A page left open past the end of its session: sign in again, input kept.
        kept = auth.expired_post()
        if kept is not None:
            return kept
        return render_template("error.html", title="Formulir kedaluwarsa",
                               message="Formulir ini sudah kedaluwarsa atau tidak sah; muat "
                                       "ulang halaman lalu coba lagi. Tidak ada yang diubah."), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return answer(error)
