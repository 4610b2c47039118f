"""What both Flask services share: problem+json errors in Bahasa Indonesia and
English, health and readiness probes, Prometheus metrics, request timing."""

import http
import json
import logging
import os
import time
from inspect import iscoroutinefunction
from pathlib import Path

import flask_smorest
import psycopg
from flask import Blueprint, Flask, Response, g, jsonify, request
from marshmallow import Schema, fields, validate
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from shared import outbox
from shared.db.engine import engine

log = logging.getLogger(__name__)

REQUESTS = Histogram("rekap_http_request_seconds", "HTTP request latency", ["service", "method", "endpoint", "status"],
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
HASIL = Counter("rekap_hasil_total", "C.Hasil submissions by outcome", ["jenis", "status"])

# Messages a KPPS officer can act on, for the statuses every endpoint may answer.
UMUM = {
    400: ("PERMINTAAN_TIDAK_VALID", "Permintaan tidak valid.", "Bad request."),
    401: ("TOKEN_TIDAK_VALID", "Token tidak ada, tidak valid, kedaluwarsa atau dicabut. Minta token baru ke operator.",
          "No token, or it is invalid, expired or revoked. Ask your operator for a new token."),
    403: ("DI_LUAR_WILAYAH", "Token ini tidak berwenang untuk wilayah atau tindakan ini.",
          "This token may not act on this region or do this."),
    404: ("TIDAK_DITEMUKAN", "Tidak ditemukan. Periksa kode kontes dan kode wilayah/TPS.",
          "Not found. Check the contest code and the region or TPS code."),
    405: ("METODE_TIDAK_DIIZINKAN", "Metode HTTP ini tidak didukung di alamat ini.", "Method not allowed here."),
    409: ("KONFLIK", "Permintaan bertentangan dengan data yang ada.", "The request conflicts with stored data."),
    413: ("TERLALU_BESAR", "Isian terlalu besar.", "The request body is too large."),
    415: ("BUKAN_JSON", "Kirim isian sebagai JSON (Content-Type: application/json).",
          "Send the body as JSON (Content-Type: application/json)."),
    416: ("RENTANG_TIDAK_VALID", "Rentang (header Range) di luar ukuran berkas; unduh ulang dari awal.",
          "The Range is outside the file; download it again from the start."),
    422: ("ISIAN_TIDAK_VALID", "Isian tidak valid; lihat temuan.", "The form is not valid; see the findings."),
    429: ("TERLALU_SERING", "Terlalu banyak permintaan; coba lagi sebentar lagi.", "Too many requests; retry shortly."),
    500: ("KESALAHAN_SERVER", "Terjadi kesalahan di server; kirim ulang nanti dengan Idempotency-Key yang sama.",
          "Server error; retry later with the same Idempotency-Key."),
    503: ("TIDAK_TERSEDIA", "Layanan sedang tidak tersedia; kirim ulang nanti dengan Idempotency-Key yang sama.",
          "Service unavailable; retry later with the same Idempotency-Key."),
}


class App(Flask):
    """Flask, remembering which of its handlers are plain functions.

    Flask asks `inspect.iscoroutinefunction` of every hook and view on every request
    (ensure_sync, which Flask's documentation invites apps to override): ten times per
    C.Hasil. A function does not change its kind, so each is asked once."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plain: dict = {}

    def ensure_sync(self, func):
        key = getattr(func, "__func__", func)  # a bound method (a MethodView's, new per request): its function
        plain = self._plain.get(key)
        if plain is None:
            plain = self._plain[key] = not iscoroutinefunction(func)
        return func if plain else self.async_to_sync(func)


# Interactive API docs at /docs, with Swagger UI's files served by rekap itself.
OPENAPI_DOCS = {"OPENAPI_SWAGGER_UI_PATH": "docs", "OPENAPI_SWAGGER_UI_URL": "/docs/aset/"}
PROBLEM = "application/problem+json"


class TemuanSchema(Schema):
    """A finding: a stable code, what to fix in Bahasa Indonesia and English, and the boxes."""

    kode = fields.String(required=True, metadata={"description": "stable code of the rule or check"})
    pesan = fields.String(required=True, metadata={"description": "Bahasa Indonesia"})
    message = fields.String(required=True, metadata={"description": "English"})
    # "fields" is also marshmallow's module here, hence the other attribute name
    fields_ = fields.List(fields.String(), required=True, data_key="fields", attribute="fields",
                          metadata={"description": "the boxes to fix, as dotted paths (pengguna.dpt.l)"})


class ProblemSchema(Schema):
    """An error exactly as Problem.response() writes it: RFC 9457 problem details, plus a
    stable `kode`, the message in both languages and the findings."""

    type = fields.String(required=True, validate=validate.OneOf(["about:blank"]),
                         metadata={"description": "always about:blank: the status and `kode` say what happened"})
    title = fields.String(required=True, metadata={"description": "the English message"})
    status = fields.Integer(required=True, metadata={"description": "the HTTP status code"})
    kode = fields.String(required=True, metadata={"description": "stable error code, e.g. TOKEN_TIDAK_VALID"})
    pesan = fields.String(required=True, metadata={"description": "what happened and what to do, Bahasa Indonesia"})
    message = fields.String(required=True, metadata={"description": "the same in English"})
    temuan = fields.List(fields.Nested(TemuanSchema), required=True,
                         metadata={"description": "the findings, each naming the boxes to fix (may be empty)"})


class Api(flask_smorest.Api):
    """flask-smorest's Api, documenting errors the way Problem answers them.

    flask-smorest registers its error responses (the `default` of every operation and one
    per status, e.g. NOT_FOUND) as application/json with its own schema; rekap answers
    application/problem+json bodies of ProblemSchema, so the documents say that instead."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):  # flask-smorest's hook for these components (0.47)
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["content"] = {PROBLEM: {"schema": self.ERROR_SCHEMA}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, {
            "description": "Any other error (500 KESALAHAN_SERVER, 405 METODE_TIDAK_DIIZINKAN, ...)",
            "content": {PROBLEM: {"schema": self.ERROR_SCHEMA}}}, lazy=True)


def berkas(description: str, *media_types: str) -> dict:
    """A file answer (a workbook, a photo, a page's asset) in any of `media_types`."""
    return {"description": description,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in media_types}}


# A conditional GET whose ETag matched (If-None-Match).
TIDAK_BERUBAH = {"description": "Not Modified: the client's copy (If-None-Match) is current; no body."}


def unduhan(*media_types: str, description: str = "The file.") -> dict[int, dict]:
    """The answers of a file sent with send_file(conditional=True): the file, a byte range of it
    (Range), or nothing when the client's copy is current (If-None-Match)."""
    return {200: berkas(description, *media_types),
            206: berkas("Partial Content: the byte range asked for (Range).", *media_types),
            304: TIDAK_BERUBAH}


def galat(*statuses: int | tuple[int, str]) -> dict[int, dict]:
    """The error answers of one operation, for `@blp.doc(responses=galat(401, 404, ...))`:
    each a problem+json body, described by UMUM's English message or by the (status, note)
    given. Anything else an operation may answer falls under its `default` response."""
    out = {}
    for item in statuses:
        status, note = item if isinstance(item, tuple) else (item, None)
        umum = UMUM.get(status)
        out[status] = {"description": note or (umum[2] if umum else http.HTTPStatus(status).phrase),
                       "content": {PROBLEM: {"schema": ProblemSchema}}}
        if status == 429:
            out[status]["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
    return out


class Problem(Exception):
    """An error answered as application/problem+json (RFC 9457)."""

    def __init__(self, status: int, kode: str | None = None, pesan: str | None = None,
                 message: str | None = None, temuan: list[dict] | None = None):
        default = UMUM.get(status, UMUM[500])
        self.status = status
        self.kode, self.pesan, self.message = kode or default[0], pesan or default[1], message or default[2]
        self.temuan = temuan or []
        super().__init__(self.message)

    def response(self) -> Response:
        """The answer, built without Flask's app context (the C.Hasil fast path has none);
        the body is what jsonify would write: compact, ASCII, in this key order."""
        body = {"type": "about:blank", "title": self.message, "status": self.status, "kode": self.kode,
                "pesan": self.pesan, "message": self.message, "temuan": self.temuan}
        resp = Response(json.dumps(body, separators=(",", ":")) + "\n", self.status, mimetype=PROBLEM)
        if self.status == 429:
            resp.headers["Retry-After"] = "60"  # limits are per minute
        return resp


def problem_for(exc: Exception) -> Problem:
    """The answer to an exception a request raised: Flask's error handler and the C.Hasil
    fast path (services/intake/fastpath.py) both answer through this."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, HTTPException):
        temuan = []
        messages = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
        if messages:  # webargs/marshmallow validation errors
            temuan = [{"kode": "ISIAN_TIDAK_VALID", "pesan": "Isian tidak valid.", "message": str(messages),
                       "fields": []}]
        return Problem(exc.code or 500, temuan=temuan)
    if isinstance(exc, psycopg.OperationalError) or (
            isinstance(exc, DBAPIError) and (exc.connection_invalidated or isinstance(exc, OperationalError))):
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return Problem(503)
    log.error("database error" if isinstance(exc, DBAPIError) else "unhandled error", exc_info=exc)
    return Problem(500)


def _ready() -> Response:
    checks = {}
    try:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report, not crash
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        outbox.client().ping()
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"error: {exc.__class__.__name__}"
    ok = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if ok else "tidak_siap", **checks}), 200 if ok else 503


def _metrics() -> Response:
    registry = None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # gunicorn: sum over the worker processes
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    data = generate_latest(registry) if registry else generate_latest()
    return Response(data, mimetype=CONTENT_TYPE_LATEST)


def install(app: Flask, service: str) -> None:
    """Error handlers, probes, metrics, timing and the guard (shared.guard) for one service."""
    from shared import guard

    app.json.sort_keys = False  # keep the order of api.md: kode, nama, ... then anak

    def _error(exc: Exception):
        return problem_for(exc).response()

    # HTTPException by name as well: it replaces flask-smorest's own handler for it.
    app.register_error_handler(HTTPException, _error)
    app.register_error_handler(Exception, _error)

    import flask_swagger_ui

    app.register_blueprint(Blueprint("docs_aset", __name__, static_url_path="/docs/aset",
                                     static_folder=str(Path(flask_swagger_ui.__file__).parent / "dist")))
    app.add_url_rule("/healthz", "healthz", lambda: jsonify({"status": "ok", "service": service}))
    app.add_url_rule("/readyz", "readyz", _ready)
    app.add_url_rule("/metrics", "metrics", _metrics)

    @app.before_request
    def _start():
        g.started = time.perf_counter()

    @app.after_request
    def _observe(resp: Response):
        observe(service, request.method, request.url_rule, resp.status_code, g.get("started"))
        return resp

    guard.install(app, service)


def observe(service: str, method: str, rule, status: int, started: float | None) -> None:
    """Count one answered request, by the URL rule it matched (None: no rule)."""
    now = time.perf_counter()
    REQUESTS.labels(service, method, rule.rule if rule else "unmatched", status).observe(now - (started or now))


def token(optional: bool = False, authorization: str | None = None, row: bool = True):
    """The bearer token (shared.auth.Token) of an Authorization header, by default the
    request's; 401 when missing or invalid. row=False leaves the token's row (revoked?)
    to the caller, whose own statement checks it (auth.verify)."""
    from shared import auth

    header = request.headers.get("Authorization", "") if authorization is None else authorization
    if not header.startswith("Bearer "):
        if optional:
            return None
        raise Problem(401)
    raw = header[len("Bearer "):].strip()
    try:
        return auth.check(engine().connect, raw) if row else auth.verify(raw)
    except auth.TokenError:
        raise Problem(401) from None


def wajib(peran: str, kode: str, authorization: str | None = None, row: bool = True):
    """A token of at least `peran` whose wilayah contains `kode`; 401 or 403 otherwise
    (row: as for token())."""
    tok = token(authorization=authorization, row=row)
    if not tok.minimal(peran) or not tok.mencakup(kode):
        raise Problem(403)
    return tok
