"""The guard: security headers, request ids, per-token rate limits, and an
access log that names tokens by id, never by their secret."""

import json

import requests

from shared import sintetis
from tests.integration.conftest import eventually


def test_security_headers_and_request_id(stack):
    resp = requests.get(f"{stack.intake_url}/healthz", headers={"X-Request-Id": "kpps-hp-123"}, timeout=5)
    assert resp.headers["X-Request-Id"] == "kpps-hp-123"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    odd = requests.get(f"{stack.export_url}/healthz", headers={"X-Request-Id": "<script>"}, timeout=5)
    assert odd.headers["X-Request-Id"] != "<script>" and len(odd.headers["X-Request-Id"]) == 32
    docs = requests.get(f"{stack.intake_url}/docs", timeout=5)
    assert docs.status_code == 200 and "/docs/aset/swagger-ui-bundle.js" in docs.text
    assert requests.get(f"{stack.intake_url}/docs/aset/swagger-ui-bundle.js", timeout=5).status_code == 200


def test_a_kpps_token_is_rate_limited_with_a_clear_answer(stack, client, issue, tps_pool):
    _, tps = tps_pool()
    raw = issue("kpps", tps[0])
    kpps = client(raw)
    body = sintetis.hasil(tps[0], [1, 2, 3])
    statuses = [kpps.submit(tps[0], body).status_code for _ in range(32)]
    assert statuses[:30] == [201] * 30
    assert statuses[30:] == [429, 429]
    limited = kpps.submit(tps[0], body)
    assert limited.json()["kode"] == "TERLALU_SERING" and limited.json()["pesan"]
    assert "Retry-After" in limited.headers
    # Another TPS's token is not affected.
    assert client(issue("kpps", tps[1])).submit(tps[1], sintetis.hasil(tps[1], [1, 2, 3])).status_code == 201

    def mine() -> list[dict]:
        lines = [json.loads(x) for x in _log(stack).splitlines() if x.startswith("{") and '"request"' in x]
        return [x for x in lines if x.get("path") == f"/api/v1/hasil/ppwp/{tps[0]}"]

    # Access lines are written in batches, within loglines.FLUSH_SECONDS.
    eventually(lambda: len(mine()) == 33, 5, "every request's access line")
    assert raw not in _log(stack)  # the secret never reaches the log
    assert {x["status"] for x in mine()} == {201, 429}
    assert all(x["token"] and x["request_id"] for x in mine())


def _log(stack) -> str:
    return (stack.log_dir / "intake.log").read_text()
