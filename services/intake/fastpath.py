"""The C.Hasil writes, answered without Flask's request machinery.

On election night nearly every request the intake gets is one of three: a C.Hasil
submitted, corrected, or replaced by a PSU. For these, Flask's request and app
contexts, its hooks, its error-handler lookup and its response handling cost a
quarter to a third of the intake's CPU (docs/reliability.md, "The C.Hasil fast
path"). This WSGI middleware answers them itself, through the same functions
Flask's views and hooks call:

- the URL rules of Flask's own url_map decide what is one of them;
- guard.allowed (rate limit), hasil.receive (the write; it reads the body when
  Flask's view would, after the token and key), web.problem_for (an error's
  answer), guard.finish (headers, access log) and web.observe (metrics) do the rest.

It takes only requests it can answer as Flask would: a POST matching one of the
three rules, with a JSON Content-Type and a Content-Length within the body limit.
Any other request, these included when chunked, oversized or not JSON, goes to
Flask unchanged. tests/integration/test_fastpath.py holds its answers, headers,
log lines and stored versions to Flask's.
"""

import json
import time

from flask import Flask
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_path_info

from shared import guard
from shared.web import Problem, observe, problem_for
from services.intake import hasil

# The Flask endpoints answered here, with the kind of version each writes.
ENDPOINTS = {"hasil.HasilTps": "kirim", "hasil.KoreksiTps": "koreksi", "hasil.PsuTps": "psu"}
PREFIX = "/api/v1/hasil/"  # what every one of them starts with: other requests are not matched at all


def is_json(content_type: str | None) -> bool:
    """Flask's request.is_json, of a Content-Type header."""
    mimetype = parse_options_header(content_type)[0].lower()
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def _parse(data: bytes):
    """The JSON in a body, None when there is none (Flask's get_json(silent=True))."""
    try:
        return json.loads(data)
    except ValueError:
        return None


class FastPath:
    """WSGI middleware in front of the intake's Flask app (`app.wsgi_app = FastPath(...)`)."""

    def __init__(self, app: Flask, service: str):
        self.flask = app.wsgi_app
        # Bound once: matching reads only the path and the method (no host or subdomain
        # rules here), and changes nothing in the adapter, so the threads share it.
        self.urls = app.url_map.bind("localhost")
        self.body_limit = app.config["MAX_CONTENT_LENGTH"]
        self.limits = guard.limits(app)
        self.service = service
        posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
        if not set(ENDPOINTS) <= posts:  # a view renamed: fail at start, not answer 404s
            raise RuntimeError(f"fastpath: no POST rule for {sorted(set(ENDPOINTS) - posts)}")

    def __call__(self, environ, start_response):
        route = self._route(environ)
        if route is None:
            return self.flask(environ, start_response)
        return self._write(environ, *route)(environ, start_response)

    def _route(self, environ):
        """(rule, arguments, path, length) of a request to answer here, else None."""
        if environ.get("REQUEST_METHOD") != "POST" or not environ.get("PATH_INFO", "").startswith(PREFIX):
            return None
        given = environ.get("CONTENT_LENGTH", "")
        if not (given.isascii() and given.isdigit()):
            return None
        length = int(given)
        if length > self.body_limit:
            return None
        if not is_json(environ.get("CONTENT_TYPE")):
            return None
        path = "/" + get_path_info(environ).lstrip("/")  # decoded, as Flask's request.path
        try:
            rule, arguments = self.urls.match(path, "POST", return_rule=True)
        except HTTPException:  # no such rule, another method, a redirect: Flask answers
            return None
        if rule.endpoint not in ENDPOINTS:
            return None
        return rule, arguments, path, length

    def _write(self, environ, rule, arguments: dict, path: str, length: int):
        started = time.perf_counter()
        headers = EnvironHeaders(environ)
        authorization = headers.get("Authorization", "")
        try:
            if not guard.allowed(self.limits, "POST", authorization, environ.get("REMOTE_ADDR")):
                raise Problem(429)
            guard.sane_path(path)
            resp = hasil.receive(arguments["kontes"], arguments["kode_tps"], ENDPOINTS[rule.endpoint],
                                 authorization, headers.get("Idempotency-Key", ""),
                                 lambda: hasil.objek(_parse(environ["wsgi.input"].read(length))))
        except Exception as exc:  # noqa: BLE001 - answered as Flask's error handler would
            resp = problem_for(exc).response()
        guard.finish(resp, self.service, "POST", path, authorization,
                     guard.new_request_id(headers.get("X-Request-Id", "")), started)
        observe(self.service, "POST", rule, resp.status_code, started)
        return resp
