"""The authorization matrix: every role x every endpoint x inside/outside its
wilayah, and expired, revoked and forged tokens. Nothing outside its scope succeeds."""

import time
import uuid

import pytest
import requests
from itsdangerous import URLSafeSerializer

from shared import auth, sintetis
from shared.auth import RANK
from shared.db.engine import engine

PASLON = [1, 2, 3]


def _endpoints(stack, tps: str) -> list[dict]:
    body = sintetis.hasil(tps, PASLON)
    kec = tps[:6]
    hasil = f"{stack.intake_url}/api/v1/hasil/ppwp/{tps}"
    return [
        {"name": "kirim", "method": "POST", "url": hasil, "json": body, "min": "kpps", "ok": 201, "scope": tps},
        {"name": "koreksi", "method": "POST", "url": f"{hasil}/koreksi", "json": {**body, "alasan": "pleno"},
         "min": "ppk", "ok": 201, "scope": tps},
        {"name": "psu", "method": "POST", "url": f"{hasil}/psu", "json": {**body, "alasan": "PSU"},
         "min": "kpps", "ok": 201, "scope": tps},
        {"name": "baca", "method": "GET", "url": hasil, "min": "kpps", "ok": 200, "scope": tps},
        {"name": "riwayat", "method": "GET", "url": f"{hasil}/riwayat", "min": "kpps", "ok": 200, "scope": tps},
        {"name": "kunci", "method": "POST", "url": f"{stack.intake_url}/api/v1/wilayah/{kec}/kunci",
         "min": "ppk", "ok": 201, "scope": kec},
        {"name": "buka_kunci", "method": "DELETE", "url": f"{stack.intake_url}/api/v1/wilayah/{kec}/kunci",
         "min": "kpu_kab", "ok": 200, "scope": kec},
        {"name": "xlsx", "method": "GET", "url": f"{stack.export_url}/api/v1/rekap/ppwp/{kec}.xlsx",
         "min": "ppk", "ok": 200, "scope": kec},
    ]


def _tokens(tps: str) -> list[tuple[str, str, bool]]:
    """(role, wilayah, whether the wilayah contains the TPS)."""
    other_tps = tps[:10] + ("001" if not tps.endswith("001") else "002")
    other_desa = tps[:6] + ("2001" if tps[6:10] != "2001" else "2002")
    other_kec = "3517" + ("01" if tps[4:6] != "01" else "02")
    return [("kpps", tps, True), ("kpps", other_tps, False), ("pps", tps[:10], True), ("pps", other_desa, False),
            ("ppk", tps[:6], True), ("ppk", other_kec, False), ("kpu_kab", "3517", True),
            ("kpu_kab", "3518", False), ("kpu_prov", "35", True), ("kpu_prov", "36", False), ("kpu", "0", True)]


def _call(ep: dict, raw: str | None) -> requests.Response:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    if raw:
        headers["Authorization"] = f"Bearer {raw}"
    return requests.request(ep["method"], ep["url"], json=ep.get("json"), headers=headers, timeout=60)


def test_authorization_matrix(stack, issue, tps_pool):
    _, tps = tps_pool()
    target = tps[0]
    endpoints = _endpoints(stack, target)
    kab = issue("kpu_kab", "3517")
    assert _call(endpoints[0], kab).status_code == 201  # a version to correct and read
    checked = 0
    for ep in endpoints:
        for peran, wilayah, inside in _tokens(target):
            allowed = inside and RANK[peran] >= RANK[ep["min"]]
            if ep["name"] == "kunci" and peran in ("kpps", "pps") and inside:
                allowed = False  # a desa or TPS role has no plenary to close
            resp = _call(ep, issue(peran, wilayah))
            expected = ep["ok"] if allowed else 403
            assert resp.status_code == expected, (ep["name"], peran, wilayah, resp.status_code, resp.text[:200])
            if ep["name"] == "kunci" and resp.status_code == 201:
                assert _call(endpoints[6], kab).status_code == 200  # unlock again for the next case
            checked += 1
    assert checked == len(endpoints) * len(_tokens(target))


@pytest.mark.parametrize("state", ["expired", "revoked", "forged", "tampered", "missing", "garbage"])
def test_bad_tokens_get_401_everywhere(stack, issue, tps_pool, state):
    _, tps = tps_pool()
    with engine().begin() as conn:
        raw, tok = auth.issue(conn, "kpu", "0", auth.parse_ttl("1s" if state == "expired" else "1h"))
        if state == "revoked":
            auth.revoke(conn, tok.id)
    if state == "expired":
        time.sleep(1.5)
    elif state == "forged":
        raw = URLSafeSerializer("guess", salt="rekap-token").dumps([tok.id, "kpu", "0", 4102444800])
    elif state == "tampered":
        raw = URLSafeSerializer("guess", salt="x").dumps([tok.id, "kpu", "0", 4102444800]).rpartition(".")[0] \
            + "." + raw.rpartition(".")[2]
    elif state == "missing":
        raw = None
    elif state == "garbage":
        raw = "' OR 1=1 --"
    for ep in _endpoints(stack, tps[0]):
        resp = _call(ep, raw)
        assert resp.status_code == 401, (state, ep["name"], resp.status_code)
        assert resp.json()["kode"] == "TOKEN_TIDAK_VALID"
