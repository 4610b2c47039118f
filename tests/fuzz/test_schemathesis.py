"""Fuzzing: schemathesis against both services' OpenAPI documents.

Every operation of intake and export (the export's dashboard page and staff JSON
included), generated from `/openapi.json` of the real stack (gunicorn, PostgreSQL,
Redis, Celery), positive and negative data, with no token and with the widest token
(`kpu`, wilayah 0). Every answer must be as documented: no 5xx
(`not_a_server_error`), a documented status code, a documented content type (errors
are application/problem+json), and a body that conforms to the schema documented
for that status and content type.

    pytest tests/fuzz                            # 40 examples: about 3,500 requests, ~70 s (`make test`)
    REKAP_FUZZ_EXAMPLES=200 pytest tests/fuzz    # about 17,600 requests, ~4 min (`make fuzz`, mk/reliability.mk)

Failures are collected over every operation (not only the first) and listed
with the request that reproduces them (a curl line).
"""

import os
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from PIL import Image
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)
from schemathesis.generation import GenerationMode

from services.intake.schemas import CONTOH
from tests.integration.conftest import simpan

EXAMPLES = int(os.environ.get("REKAP_FUZZ_EXAMPLES", "40"))  # per operation, token, mode and path kind
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Real path values, so generated bodies and queries also reach the handlers behind the lookups
# (generated paths alone are mostly unknown contests and regions: a 404 early on): the last
# Jombang desa, its kecamatan (locks are set on a kecamatan or wider; the fuzzer's lock is lifted
# at the end) and its last TPS (the integration tests' tps_pool hands desa out from the first),
# a photo of that TPS, a workbook job of that desa, and the dashboard's assets.
REAL = {"kontes": "ppwp"}
WORKBOOK_PATH = "/api/v1/rekap/{kontes}/{kode}"  # `{kode}.xlsx` is the region's workbook
ASET = ("dasbor.css", "dasbor.js", "ikon.svg")


def _real_paths(stack, token: str) -> None:
    from sqlalchemy import text

    from shared.db.engine import engine

    with engine().connect() as conn:
        desa = conn.execute(text("""SELECT kode FROM wilayah WHERE tingkat = 'desa' AND kode LIKE '3517%'
                                    ORDER BY kode DESC LIMIT 1""")).scalar_one()
        tps = conn.execute(text("SELECT max(kode) FROM wilayah WHERE kode_induk = :d"), {"d": desa}).scalar_one()
    REAL.update(kode=desa, kecamatan=desa[:6], kode_tps=tps)
    auth = {"Authorization": f"Bearer {token}"}
    # A result first (the example of api.md, a fixed key: the second time a replay), so that reads
    # and corrections of the real TPS find one; no lock left by an interrupted run in the way.
    requests.delete(f"{stack.intake_url}/api/v1/wilayah/{desa[:6]}/kunci", headers=auth, timeout=30)
    hasil = requests.post(f"{stack.intake_url}/api/v1/hasil/ppwp/{tps}", json=CONTOH, timeout=30,
                          headers={**auth, "Idempotency-Key": "fuzz-awal"})
    assert hasil.status_code == 201, hasil.text
    png = simpan(Image.new("RGB", (16, 12), (200, 30, 30)), "PNG")
    foto = requests.post(f"{stack.intake_url}/api/v1/hasil/ppwp/{tps}/foto", headers=auth, timeout=30,
                         data={"halaman": "1"}, files={"berkas": ("c1.png", png, "image/png")})
    assert foto.status_code in (200, 201), foto.text
    REAL["sha256"] = foto.json()["sha256"]
    job = requests.get(f"{stack.export_url}/api/v1/rekap/ppwp/{desa}.xlsx", timeout=30,
                       headers={**auth, "Prefer": "respond-async"})
    assert job.status_code in (200, 202), job.text
    if job.status_code == 202:  # 200: already built and cached, no job
        REAL["job_id"] = job.json()["id"]


def _real(operation, name: str, generated: str) -> str | None:
    """The real value of a path parameter, or None to keep the generated one. Where there are
    several, the generated value's length picks one, so each is sent about as often."""
    if name == "kode" and operation.path.startswith("/api/v1/wilayah/"):
        return REAL["kecamatan"]
    if name == "kode" and operation.path == WORKBOOK_PATH and len(generated) % 2:
        return REAL["kode"] + ".xlsx"
    if name == "nama":
        return ASET[len(generated) % len(ASET)]
    return REAL.get(name)


def _key(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines()]
    picked = [ln for ln in lines if ln.startswith(("- ST", "[", "Received", "Documented"))]
    return " | ".join(picked[:4]) or (lines[0] if lines and lines[0] else type(exc).__name__)


def _modes(operation) -> tuple[GenerationMode, ...]:
    # Negative data breaks a documented request shape. An operation without a body takes only
    # strings in its path (and optional ones in its query), where every value is a valid string:
    # hypothesis would search for seconds per operation for an invalid one and find none.
    if operation.body:
        return (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    return (GenerationMode.POSITIVE,)


@dataclass
class Tally:
    """What one service's fuzz run sent and got."""

    requests: Counter = field(default_factory=Counter)  # by operation
    statuses: Counter = field(default_factory=Counter)  # by (operation, status code)
    nonconforming: int = 0  # answers that failed a check (5xx included), or no answer at all
    failures: list[str] = field(default_factory=list)  # the distinct ones, with a curl line each


def _run(base: str, token: str | None, tally: Tally, real: bool = False) -> None:
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    session = requests.Session()
    who = ("kpu token" if token else "no token") + (", real paths" if real else "")
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in _modes(operation):
            seen: set[str] = set()

            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def one(case):
                tally.requests[operation.label] += 1
                if real:
                    for name, generated in (case.path_parameters or {}).items():
                        case.path_parameters[name] = _real(operation, name, str(generated)) or generated
                try:
                    response = case.call(base_url=base, session=session, headers=headers, timeout=30)
                    tally.statuses[operation.label, response.status_code] += 1
                    case.validate_response(response, checks=CHECKS)
                except (Exception, BaseExceptionGroup) as exc:  # collect, do not stop: every operation is tried
                    tally.nonconforming += 1
                    first = _key(exc)
                    if first not in seen:
                        seen.add(first)
                        tally.failures.append(f"[{who}, {mode.value}] {operation.label}: {first}\n"
                                              f"    {case.as_curl_command(headers=headers)}\n{str(exc)[:1500]}")

            try:
                one()
            except Unsatisfiable:  # no request could be generated (see _modes): say so
                tally.failures.append(f"[{who}, {mode.value}] {operation.label}: no example could be generated")
            except (Exception, BaseExceptionGroup) as exc:  # the strategy itself could not be built: report, go on
                tally.failures.append(f"[{who}, {mode.value}] {operation.label}: generation failed: {exc!r}"[:500])


@pytest.mark.parametrize("service", ["intake", "export"])
def test_fuzz_no_server_error_and_documented_answers(stack, issue, service):
    base = stack.intake_url if service == "intake" else stack.export_url
    kpu = issue("kpu", "0")
    _real_paths(stack, kpu)
    tally = Tally()
    started = time.monotonic()
    try:
        for token in (None, kpu):
            for real in (False, True):
                _run(base, token, tally, real)
    finally:
        requests.delete(f"{stack.intake_url}/api/v1/wilayah/{REAL['kecamatan']}/kunci",
                        headers={"Authorization": f"Bearer {kpu}"}, timeout=30)
    total = sum(tally.requests.values())
    server_errors = sum(n for (_, status), n in tally.statuses.items() if status >= 500)
    print(f"\nfuzz {service}: {total} requests over {len(tally.requests)} operations "
          f"({EXAMPLES} examples per operation, token, mode and path kind) in {time.monotonic() - started:.0f} s: "
          f"{server_errors} 5xx, {tally.nonconforming} nonconforming")
    for label in tally.requests:
        spread = " ".join(f"{status}x{n}" for (op, status), n in sorted(tally.statuses.items()) if op == label)
        print(f"  {label}: {spread}")
    assert total > 0
    assert not tally.failures, f"{len(tally.failures)} failures:\n\n" + "\n\n".join(tally.failures[:30])


# What the fuzzer found, kept as plain tests: "³" is a digit to str.isdigit() but int() refuses it,
# so a paslon number or a page number written with it crashed the request (500) instead of a 422.

def test_superscript_paslon_number_is_a_finding_not_a_crash(stack, issue):
    kpu = issue("kpu", "0")
    _real_paths(stack, kpu)
    resp = requests.post(f"{stack.intake_url}/api/v1/hasil/ppwp/{REAL['kode_tps']}", timeout=30,
                         json={**CONTOH, "suara": {"1": 15, "2": 182, "³": 36}},
                         headers={"Authorization": f"Bearer {kpu}", "Idempotency-Key": "fuzz-pangkat"})
    assert resp.status_code == 422, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert "suara" in {f for t in resp.json()["temuan"] for f in t["fields"]}


def test_superscript_page_number_is_a_finding_not_a_crash(stack, issue):
    kpu = issue("kpu", "0")
    _real_paths(stack, kpu)
    resp = requests.post(f"{stack.intake_url}/api/v1/hasil/ppwp/{REAL['kode_tps']}/foto", timeout=30,
                         headers={"Authorization": f"Bearer {kpu}"}, data={"halaman": "³"},
                         files={"berkas": ("c1.png", simpan(Image.new("RGB", (8, 8)), "PNG"), "image/png")})
    assert resp.status_code == 422, resp.text
    assert resp.json()["temuan"][0]["kode"] == "HALAMAN_TIDAK_VALID"


def test_answers_random_requests_seldom_reach_are_as_documented(stack, issue):
    """A workbook job (202), Not Modified (304), a byte range (206) and a body too large (413),
    each checked as the fuzzer checks its answers."""
    kpu = issue("kpu", "0")
    _real_paths(stack, kpu)
    auth = {"Authorization": f"Bearer {kpu}"}
    intake = schemathesis.openapi.from_url(f"{stack.intake_url}/openapi.json")
    export = schemathesis.openapi.from_url(f"{stack.export_url}/openapi.json")
    foto = {"kontes": "ppwp", "kode_tps": REAL["kode_tps"], "sha256": REAL["sha256"]}
    desa_xlsx = {"kontes": "ppwp", "kode": REAL["kode"] + ".xlsx"}

    def etag(url: str, headers: dict | None = None) -> str:
        resp = requests.get(url, headers=headers or {}, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.headers["ETag"]

    tps_url = f"{stack.intake_url}/api/v1/hasil/ppwp/{REAL['kode_tps']}"
    cases = [  # (schema, path, method, path parameters, headers, body, status)
        (export, WORKBOOK_PATH, "GET", {"kontes": "ppwp", "kode": REAL["kecamatan"] + ".xlsx"},
         {**auth, "Prefer": "respond-async"}, None, 202),
        (export, WORKBOOK_PATH, "GET", desa_xlsx,
         {**auth, "If-None-Match": etag(f"{stack.export_url}/api/v1/rekap/ppwp/{desa_xlsx['kode']}", auth)}, None, 304),
        (intake, "/api/v1/hasil/{kontes}/{kode_tps}/foto/{sha256}", "GET", foto,
         {"If-None-Match": etag(f"{tps_url}/foto/{REAL['sha256']}")}, None, 304),
        (intake, "/api/v1/hasil/{kontes}/{kode_tps}/foto/{sha256}", "GET", foto, {"Range": "bytes=0-7"}, None, 206),
        (export, "/aset/{nama}", "GET", {"nama": "dasbor.css"},
         {"If-None-Match": etag(f"{stack.export_url}/aset/dasbor.css")}, None, 304),
        (intake, "/api/v1/hasil/{kontes}/{kode_tps}", "POST", {"kontes": "ppwp", "kode_tps": REAL["kode_tps"]},
         {**auth, "Idempotency-Key": "fuzz-besar"}, {**CONTOH, "alasan": "x" * 70_000}, 413),
    ]
    for schema, path, method, params, headers, body, status in cases:
        case = schema[path][method].Case(path_parameters=params, headers=headers,
                                         **({"body": body, "media_type": "application/json"} if body else {}))
        response = case.call(base_url=stack.intake_url if schema is intake else stack.export_url, timeout=30)
        assert response.status_code == status, (path, headers, response.status_code, response.text[:300])
        case.validate_response(response, checks=CHECKS)
