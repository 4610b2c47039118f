"""What both Flask services share: problem+json errors in Bahasa Indonesia and
English, health and readiness probes, Prometheus metrics, request timing."""

import logging
import os
import time
from pathlib import Path

import psycopg
from flask import Blueprint, Flask, Response, g, jsonify, request
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
    422: ("ISIAN_TIDAK_VALID", "Isian tidak valid; lihat temuan.", "The form is not valid; see the findings."),
    429: ("TERLALU_SERING", "Terlalu banyak permintaan; coba lagi sebentar lagi.", "Too many requests; retry shortly."),
    500: ("KESALAHAN_SERVER", "Terjadi kesalahan di server; kirim ulang nanti dengan Idempotency-Key yang sama.",
          "Server error; retry later with the same Idempotency-Key."),
    503: ("TIDAK_TERSEDIA", "Layanan sedang tidak tersedia; kirim ulang nanti dengan Idempotency-Key yang sama.",
          "Service unavailable; retry later with the same Idempotency-Key."),
}


# Interactive API docs at /docs, with Swagger UI's files served by rekap itself.
OPENAPI_DOCS = {"OPENAPI_SWAGGER_UI_PATH": "docs", "OPENAPI_SWAGGER_UI_URL": "/docs/aset/"}


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
        body = {"type": "about:blank", "title": self.message, "status": self.status, "kode": self.kode,
                "pesan": self.pesan, "message": self.message, "temuan": self.temuan}
        resp = jsonify(body)
        resp.status_code = self.status
        resp.mimetype = "application/problem+json"
        if self.status == 429:
            resp.headers["Retry-After"] = "60"  # limits are per minute
        return resp


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

    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        temuan = []
        messages = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
        if messages:  # webargs/marshmallow validation errors
            temuan = [{"kode": "ISIAN_TIDAK_VALID", "pesan": "Isian tidak valid.", "message": str(messages),
                       "fields": []}]
        return Problem(exc.code or 500, temuan=temuan).response()

    @app.errorhandler(DBAPIError)
    def _database(exc: DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            log.warning("database unavailable: %s", exc.__class__.__name__)
            return Problem(503).response()
        log.exception("database error")
        return Problem(500).response()

    @app.errorhandler(psycopg.OperationalError)
    def _database_down(exc: psycopg.OperationalError):
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return Problem(503).response()

    @app.errorhandler(Exception)
    def _crash(exc: Exception):
        log.exception("unhandled error")
        return Problem(500).response()

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
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(service, request.method, endpoint, resp.status_code).observe(
            time.perf_counter() - g.get("started", time.perf_counter()))
        return resp

    guard.install(app, service)


def token(optional: bool = False):
    """The request's bearer token (shared.auth.Token); 401 when missing or invalid."""
    from shared import auth

    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        if optional:
            return None
        raise Problem(401)
    try:
        return auth.check(engine().connect, header[len("Bearer "):].strip())
    except auth.TokenError:
        raise Problem(401) from None


def wajib(peran: str, kode: str):
    """A token of at least `peran` whose wilayah contains `kode`; 401 or 403 otherwise."""
    tok = token()
    if not tok.minimal(peran) or not tok.mencakup(kode):
        raise Problem(403)
    return tok
