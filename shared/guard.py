"""What stands between the internet and the services: security headers,
request ids, a structured access log with no secrets in it, and per-token
rate limits on writes (shared.ratelimit: counted in Redis, without a round
trip for most requests; if Redis is down each process counts alone rather
than refusing KPPS).
"""

import itertools
import json
import logging
import os
import re
import time

import orjson
from flask import Flask, Response, g, request

from shared import loglines, ratelimit, settings
from shared.web import Problem

access = logging.getLogger("rekap.access")

# Writes per minute, by role: a KPPS sends a handful of forms; a PPK corrects
# a kecamatan's; kabupaten and wider run imports and tools.
WRITE_LIMITS = {"kpps": "30/minute", "pps": "120/minute", "ppk": "600/minute", "kpu_kab": "100000/minute",
                "kpu_prov": "100000/minute", "kpu": "100000/minute"}
ANONYMOUS_LIMIT = "60/minute"  # per address, for requests without a valid token
UNLIMITED_METHODS = ("GET", "HEAD")  # reads are cheap and cached; writes are what a flood costs

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
CSP_API = "default-src 'none'; frame-ancestors 'none'"
# Pages (API docs, dashboard) load only what rekap itself serves.
CSP_PAGE = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers.

    Formatting was half of an access line's cost (6.6 of 13.5 µs), so the time's text is
    made once a second and the line encoded with orjson: 3 to 8.5% less CPU per C.Hasil
    in three interleaved comparisons (docs/reliability.md, "Access log")."""

    _second: tuple[int, str] = (-1, "")  # the last second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        entry = {"waktu": self._waktu(record.created), "level": record.levelname, "logger": record.name,
                 "pesan": record.getMessage()}
        entry.update(getattr(record, "rincian", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(entry, option=orjson.OPT_NON_STR_KEYS).decode()
        except orjson.JSONEncodeError:  # e.g. a lone surrogate, which json writes as it is
            return json.dumps(entry, ensure_ascii=False)

    def _waktu(self, created: float) -> str:
        second = int(created)
        known = self._second
        if known[0] != second:
            known = self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return known[1]


def _logging() -> None:
    # The JSON lines name no source line and no thread: logging need not look them up
    # for every record (the logging HOWTO's "Optimization"). The caller's lookup walks
    # the stack on every access-log line: 13% of the intake's CPU per C.Hasil. The
    # process id stays, for gunicorn's own lines.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = loglines.Batched()  # stderr, a write per batch of lines rather than per request
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())


def _token_payload(authorization: str):
    """The signature-checked (peran, token id) of a bearer token, or None; no database."""
    from shared import auth

    if not authorization.startswith("Bearer "):
        return None
    return auth.peek(authorization[len("Bearer "):].strip())


def new_request_id(given: str) -> str:
    """The client's X-Request-Id when it is sane, else a new one."""
    return given if _REQUEST_ID.match(given) else _new_id()


_ids: tuple[int, str, itertools.count] | None = None  # this process's (pid, prefix, counter)


def _new_id() -> str:
    """32 hex digits: a random prefix drawn once per process, then a counter. Unique
    without a uuid4 per request, whose os.urandom is a system call in which the request
    thread gives up the GIL."""
    global _ids
    ids = _ids
    if ids is None or ids[0] != os.getpid():  # the first id, or the first in a forked worker
        ids = _ids = (os.getpid(), os.urandom(8).hex(), itertools.count())
    return f"{ids[1]}{next(ids[2]):016x}"


def request_id() -> str:
    """The request's id (new_request_id), one per request."""
    if "request_id" not in g:
        g.request_id = new_request_id(request.headers.get("X-Request-Id", ""))
    return g.request_id


def limits(app: Flask) -> ratelimit.Limits:
    """The write limits install() put on the app, for the C.Hasil fast path."""
    return app.extensions["rekap.limits"]


def allowed(limits: ratelimit.Limits, method: str, authorization: str, address: str | None) -> bool:
    """Is this request within its limits? Reads always are; a write counts against its token."""
    if method in UNLIMITED_METHODS:
        return True
    return limits.allow(*(_token_payload(authorization) or (None, None)), address=address)


def sane_path(path: str) -> None:
    """A path with a NUL byte names nothing (no code or id has one), and PostgreSQL could
    not even compare it: answer 404 rather than let the query fail as a 500."""
    if "\x00" in path:
        raise Problem(404)


def finish(resp: Response, service: str, method: str, path: str, authorization: str, request_id: str,
           started: float | None) -> None:
    """The security headers and request id on an answer, and its access-log line."""
    resp.headers.update(HEADERS)
    page = resp.mimetype == "text/html"
    resp.headers.setdefault("Content-Security-Policy", CSP_PAGE if page else CSP_API)
    if authorization:
        resp.headers.setdefault("Cache-Control", "no-store")
    resp.headers["X-Request-Id"] = request_id
    payload = _token_payload(authorization) if resp.status_code < 500 else None
    now = time.perf_counter()
    # Never the token, the body or a query string: ids and codes only.
    access.info("request", extra={"rincian": {
        "service": service, "request_id": request_id, "method": method, "path": path,
        "status": resp.status_code, "token": payload[1] if payload else None,
        "ms": round((now - (started or now)) * 1000, 1)}})


def install(app: Flask, service: str) -> None:
    _logging()
    write_limits = ratelimit.Limits(settings.load().redis_url, WRITE_LIMITS, ANONYMOUS_LIMIT)
    app.extensions["rekap.limits"] = write_limits  # the C.Hasil fast path's, too: limits(app)

    @app.before_request
    def _admit():
        # The rate limit, then the path (the fast path's order too). No X-RateLimit-* headers:
        # a refused request gets Retry-After (shared.web), which is what clients use.
        if not allowed(write_limits, request.method, request.headers.get("Authorization", ""), request.remote_addr):
            raise Problem(429)
        sane_path(request.path)

    @app.after_request
    def _headers(resp: Response) -> Response:
        finish(resp, service, request.method, request.path, request.headers.get("Authorization", ""),
               request_id(), g.get("started"))
        return resp
