"""The thin real path: C.Hasil over HTTP -> outbox -> Celery rollup -> recap JSON."""

import requests
from sqlalchemy import text

from shared import sintetis
from shared.db.engine import engine
from shared.domain.hasil import ratakan, susun
from tests.integration.conftest import quiesce, recap

PASLON = [1, 2, 3]


def versions(kode_tps: str) -> int:
    with engine().connect() as conn:
        return conn.execute(text("SELECT count(*) FROM hasil WHERE kode_tps = :t"), {"t": kode_tps}).scalar_one()


def test_clean_result_is_counted_at_every_level(stack, client, issue, tps_pool):
    desa, tps = tps_pool()
    kpps = client(issue("kpps", tps[0]))
    body = sintetis.hasil(tps[0], PASLON)
    resp = kpps.submit(tps[0], body)
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"kode_tps": tps[0], "kontes": "ppwp", "versi": 1, "status": "diterima", "temuan": []}
    quiesce()
    shaped = susun(ratakan(body), PASLON)
    desa_recap = recap(stack, desa)
    assert desa_recap["suara"] == shaped["suara"]
    assert desa_recap["pengguna"] == shaped["pengguna"]
    assert desa_recap["progres"]["tps_masuk"] == 1
    assert desa_recap["progres"]["tps_total"] == len(tps)
    [mine] = [a for a in desa_recap["anak"] if a["kode"] == tps[0]]
    assert mine["status"] == "diterima" and mine["suara"] == shaped["suara"]
    assert len(desa_recap["anak"]) == len(tps)  # every TPS listed, reported or not
    kecamatan = recap(stack, desa[:6])
    assert desa in [a["kode"] for a in kecamatan["anak"]]
    assert kecamatan["progres"]["tps_masuk"] >= 1


def test_broken_identity_is_accepted_counted_and_flagged(stack, client, issue, tps_pool):
    desa, tps = tps_pool()
    body = sintetis.hasil(tps[0], PASLON, rusak="identitas")
    resp = client(issue("kpps", tps[0])).submit(tps[0], body)
    assert resp.status_code == 201, resp.text
    answer = resp.json()
    assert answer["status"] == "perlu_periksa"
    # V.A written one too high breaks V.A = sum of IV and V.C = V.A + V.B.
    assert [t["kode"] for t in answer["temuan"]] == ["SUARA_SAH_TIDAK_SESUAI", "SUARA_TOTAL_TIDAK_SESUAI"]
    assert answer["temuan"][0]["pesan"] and answer["temuan"][0]["message"]
    quiesce()
    desa_recap = recap(stack, desa)
    assert desa_recap["tps_perlu_periksa"] == 1
    assert desa_recap["suara_sah"] == body["suara_sah"]  # counted as written, flagged for the PPK
    [mine] = [a for a in desa_recap["anak"] if a["kode"] == tps[0]]
    assert mine["status"] == "perlu_periksa" and mine["temuan"][0]["kode"] == "SUARA_SAH_TIDAK_SESUAI"
    assert recap(stack, desa[:6])["tps_perlu_periksa"] >= 1


def test_impossible_result_is_rejected_and_counted_nowhere(stack, client, issue, tps_pool):
    desa, tps = tps_pool()
    body = sintetis.hasil(tps[0], PASLON, rusak="mustahil")
    resp = client(issue("kpps", tps[0])).submit(tps[0], body)
    assert resp.status_code == 422
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["kode"] == "HASIL_MUSTAHIL"
    kodes = {t["kode"] for t in problem["temuan"]}
    assert "MELEBIHI_KAPASITAS" in kodes
    assert all(t["pesan"] and t["message"] and t["fields"] for t in problem["temuan"])
    assert versions(tps[0]) == 0
    quiesce()
    assert recap(stack, desa)["progres"]["tps_masuk"] == 0


def test_malformed_bodies_get_findings_that_name_the_field(stack, client, issue, tps_pool):
    _, tps = tps_pool()
    kpps = client(issue("kpps", tps[0]))
    body = sintetis.hasil(tps[0], PASLON)
    cases = [
        ({**body, "catatan": "x"}, "ISIAN_TIDAK_DIKENAL", "catatan"),
        ({**body, "suara_sah": "233"}, "BUKAN_ANGKA", "suara_sah"),
        ({**body, "suara_sah": True}, "BUKAN_ANGKA", "suara_sah"),
        ({k: v for k, v in body.items() if k != "surat_suara"}, "ISIAN_WAJIB", "surat_suara"),
        ({**body, "disabilitas": {"l": 0, "p": 0, "x": 1}}, "ISIAN_TIDAK_DIKENAL", "disabilitas.x"),
    ]
    for bad, kode, field in cases:
        resp = kpps.submit(tps[0], bad)
        assert resp.status_code == 422, (bad, resp.text)
        assert {"kode": kode, "field": field} in [{"kode": t["kode"], "field": f}
                                                  for t in resp.json()["temuan"] for f in t["fields"]]
    assert versions(tps[0]) == 0


def test_transport_level_refusals(stack, client, issue, tps_pool):
    _, tps = tps_pool()
    raw = issue("kpps", tps[0])
    kpps = client(raw)
    body = sintetis.hasil(tps[0], PASLON)
    assert client().submit(tps[0], body).status_code == 401
    assert client("not-a-token").submit(tps[0], body).status_code == 401
    assert kpps.submit(tps[1], body).status_code == 403  # another TPS
    assert kpps.submit(tps[0], body, kontes="pkwkp").status_code == 404
    not_json = requests.post(f"{stack.intake_url}/api/v1/hasil/ppwp/{tps[0]}", data="l=1",
                             headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "k1",
                                      "Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert not_json.status_code == 415 and not_json.json()["pesan"]
    no_key = requests.post(f"{stack.intake_url}/api/v1/hasil/ppwp/{tps[0]}", json=body,
                           headers={"Authorization": f"Bearer {raw}"}, timeout=10)
    assert no_key.status_code == 400 and no_key.json()["kode"] == "IDEMPOTENCY_KEY_WAJIB"
    huge = kpps.submit(tps[0], {**body, "pad": "x" * 100_000})
    assert huge.status_code == 413
    assert versions(tps[0]) == 0


def test_unknown_tps_is_404(stack, client, issue):
    resp = client(issue("kpu_kab", "3517")).submit("3517142001999", sintetis.hasil("x", PASLON))
    assert resp.status_code == 404 and resp.json()["kode"] == "TPS_TIDAK_DIKENAL"


def test_replay_answers_the_same_and_makes_no_version(stack, client, issue, tps_pool):
    _, tps = tps_pool()
    kpps = client(issue("kpps", tps[0]))
    body = sintetis.hasil(tps[0], PASLON)
    first = kpps.submit(tps[0], body, key="ulang-1")
    again = kpps.submit(tps[0], body, key="ulang-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert versions(tps[0]) == 1
    other = kpps.submit(tps[0], {**body, "suara_tidak_sah": body["suara_tidak_sah"]}, key="ulang-1")
    assert other.status_code == 201  # the same body, keys reordered or not
    changed = dict(body, suara_tidak_sah=body["suara_tidak_sah"] + 1)
    conflict = kpps.submit(tps[0], changed, key="ulang-1")
    assert conflict.status_code == 409 and conflict.json()["kode"] == "IDEMPOTENCY_KEY_BENTROK"
    second = kpps.submit(tps[0], body, key="ulang-2")
    assert second.status_code == 201 and second.json()["versi"] == 2
    assert versions(tps[0]) == 2


def test_probes_and_metrics(stack):
    for base in (stack.intake_url, stack.export_url):
        assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
        ready = requests.get(f"{base}/readyz", timeout=5).json()
        assert ready == {"status": "ok", "database": "ok", "broker": "ok"}
        assert "openapi" in requests.get(f"{base}/openapi.json", timeout=5).json()
    metrics = requests.get(f"{stack.intake_url}/metrics", timeout=5).text
    assert "rekap_http_request_seconds" in metrics
