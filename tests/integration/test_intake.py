"""The complete KPPS and PPK write API: roles and scope, tokens, retries and
races, corrections, PSU, history, locks, and Redis down during submissions."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from itsdangerous import URLSafeSerializer
from sqlalchemy import text

from shared import auth, sintetis
from shared.db.engine import engine
from shared.domain.hasil import ratakan, susun
from tests.integration.conftest import quiesce, recap

PASLON = [1, 2, 3]


def body_for(kode_tps, **changes):
    return {**sintetis.hasil(kode_tps, PASLON), **changes}


def versions(kode_tps):
    with engine().connect() as conn:
        return conn.execute(text("SELECT versi, jenis FROM hasil WHERE kode_tps = :t ORDER BY versi"),
                            {"t": kode_tps}).all()


# --- roles and scope: every role inside and outside its wilayah ---------------

def _scopes(tps: str) -> list[tuple[str, str, str]]:
    """(role, its wilayah that contains `tps`, a wilayah of that role that does not)."""
    other_desa = "3517012001" if not tps.startswith("3517012001") else "3517012002"
    other_kec = "351701" if not tps.startswith("351701") else "351702"
    return [("kpps", tps, tps[:10] + ("002" if not tps.endswith("002") else "003")),
            ("pps", tps[:10], other_desa), ("ppk", tps[:6], other_kec),
            ("kpu_kab", "3517", "3518"), ("kpu_prov", "35", "36"), ("kpu", "0", None)]


def test_every_role_submits_inside_its_wilayah_and_nowhere_else(stack, client, issue, tps_pool):
    _, tps = tps_pool()
    for i, (peran, inside, outside) in enumerate(_scopes(tps[0])):
        target = tps[i % len(tps)] if peran != "kpps" else tps[0]
        inside_for_target = inside if peran != "kpps" else tps[0]
        resp = client(issue(peran, inside_for_target)).submit(target, body_for(target))
        assert resp.status_code == 201, (peran, resp.text)
        if outside:
            refused = client(issue(peran, outside)).submit(target, body_for(target))
            assert refused.status_code == 403, (peran, refused.text)
            assert refused.json()["kode"] == "DI_LUAR_WILAYAH" and refused.json()["pesan"]


def test_corrections_need_ppk_or_wider(stack, client, issue, tps_pool):
    _, tps = tps_pool()
    assert client(issue("kpps", tps[0])).submit(tps[0], body_for(tps[0])).status_code == 201
    fix = {**body_for(tps[0]), "alasan": "BA pleno PPK no. 7"}
    for peran, wilayah in (("kpps", tps[0]), ("pps", tps[0][:10])):
        assert client(issue(peran, wilayah)).submit(tps[0], fix, path="/koreksi").status_code == 403
    for peran, wilayah in (("ppk", tps[0][:6]), ("kpu_kab", "3517")):
        resp = client(issue(peran, wilayah)).submit(tps[0], fix, path="/koreksi")
        assert resp.status_code == 201, resp.text
    assert [v.jenis for v in versions(tps[0])] == ["kirim", "koreksi", "koreksi"]


# --- tokens: expired, revoked, forged ------------------------------------------

def test_expired_revoked_and_forged_tokens_are_refused(stack, client, issue, tps_pool):
    _, tps = tps_pool()
    body = body_for(tps[0])
    expired = issue("kpps", tps[0], ttl="1s")
    time.sleep(1.5)
    assert client(expired).submit(tps[0], body).status_code == 401

    with engine().begin() as conn:
        raw, tok = auth.issue(conn, "kpps", tps[0], auth.parse_ttl("1h"))
        auth.revoke(conn, tok.id)
    assert client(raw).submit(tps[0], body).status_code == 401

    # Forged: the right shape, signed with a key the server does not have.
    forged = URLSafeSerializer("not-the-secret", salt="rekap-token").dumps([tok.id, "kpu", "0", 4102444800])
    assert client(forged).submit(tps[0], body).status_code == 401
    # Tampered: a valid token's payload changed to a wider role.
    good = issue("kpps", tps[0])
    payload, _, signature = good.rpartition(".")
    tampered = URLSafeSerializer("x", salt="y").dumps([tok.id, "kpu", "0", 4102444800]).rpartition(".")[0]
    assert client(f"{tampered}.{signature}").submit(tps[0], body).status_code == 401
    assert versions(tps[0]) == []
    with engine().connect() as conn:
        actions = conn.execute(text("SELECT tindakan FROM audit WHERE rincian->>'token' = :id ORDER BY id"),
                               {"id": tok.id}).scalars().all()
    assert actions == ["token_terbit", "token_cabut"]


def test_a_token_revoked_while_in_use_stops_writing_at_once_and_reading_within_the_cache_window(
        stack, client, issue, tps_pool):
    _, tps = tps_pool()
    with engine().begin() as conn:
        raw, tok = auth.issue(conn, "kpps", tps[0], auth.parse_ttl("1h"))
    kpps, body, key = client(raw), body_for(tps[0]), str(uuid.uuid4())
    assert kpps.submit(tps[0], body, key=key).status_code == 201
    with engine().begin() as conn:
        auth.revoke(conn, tok.id)
    # A write checks the token's row in the statement that stores: refused at once,
    # a replay of the earlier submission too, and nothing stored.
    for refused in (kpps.submit(tps[0], body_for(tps[0])), kpps.submit(tps[0], body, key=key)):
        assert refused.status_code == 401 and refused.json()["kode"] == "TOKEN_TIDAK_VALID", refused.text
    assert len(versions(tps[0])) == 1
    time.sleep(auth.REVOCATION_CACHE + 0.5)
    assert kpps.session.get(f"{kpps.base}/api/v1/hasil/ppwp/{tps[0]}", timeout=30).status_code == 401


# --- retries and races ------------------------------------------------------------

def test_racing_duplicates_make_one_version(stack, client, issue, tps_pool):
    _, tps = tps_pool()
    raw = issue("kpps", tps[0])
    body, key = body_for(tps[0]), str(uuid.uuid4())

    def send(_):
        return client(raw).submit(tps[0], body, key=key)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(send, range(24)))
    assert {r.status_code for r in answers} == {201}
    assert len({r.text for r in answers}) == 1
    assert len(versions(tps[0])) == 1


def test_racing_different_submissions_number_versions_without_gaps(stack, client, issue, tps_pool):
    _, tps = tps_pool()
    raw = issue("kpps", tps[0])

    def send(_):
        return client(raw).submit(tps[0], body_for(tps[0]))

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(16)))
    assert sorted(r.json()["versi"] for r in answers) == list(range(1, 17))
    assert [v.versi for v in versions(tps[0])] == list(range(1, 17))


# --- corrections, PSU, history ---------------------------------------------------

def test_correction_makes_a_new_version_and_the_recap_follows(stack, client, issue, tps_pool):
    desa, tps = tps_pool()
    first = body_for(tps[0], suara_sah=sintetis.hasil(tps[0], PASLON)["suara_sah"] + 1)  # a slip
    assert client(issue("kpps", tps[0])).submit(tps[0], first).json()["status"] == "perlu_periksa"
    ppk = client(issue("ppk", tps[0][:6]))
    assert ppk.submit(tps[0], body_for(tps[0]), path="/koreksi").status_code == 422  # no alasan
    fixed = {**body_for(tps[0]), "alasan": "Koreksi V.A pada pleno PPK"}
    resp = ppk.submit(tps[0], fixed, path="/koreksi")
    assert resp.status_code == 201 and resp.json()["versi"] == 2 and resp.json()["status"] == "diterima"
    history = requests.get(f"{stack.intake_url}/api/v1/hasil/ppwp/{tps[0]}/riwayat",
                           headers={"Authorization": f"Bearer {issue('pps', desa)}"}, timeout=10).json()
    assert [(v["versi"], v["jenis"], v["status"]) for v in history] == [
        (1, "kirim", "perlu_periksa"), (2, "koreksi", "diterima")]
    assert history[1]["alasan"] == "Koreksi V.A pada pleno PPK" and history[1]["oleh"].startswith("ppk:")
    assert history[0]["isian"]["suara_sah"] == first["suara_sah"]  # nothing overwritten
    quiesce()
    desa_recap = recap(stack, desa)
    assert desa_recap["tps_perlu_periksa"] == 0
    assert desa_recap["suara_sah"] == susun(ratakan(body_for(tps[0])), PASLON)["suara_sah"]


def test_correction_of_nothing_is_404(stack, client, issue, tps_pool):
    _, tps = tps_pool()
    resp = client(issue("ppk", tps[0][:6])).submit(tps[0], {**body_for(tps[0]), "alasan": "x"}, path="/koreksi")
    assert resp.status_code == 404 and resp.json()["kode"] == "BELUM_ADA_HASIL"


def test_a_nul_byte_or_a_lone_surrogate_gets_a_clear_answer_and_changes_nothing(stack, client, issue, tps_pool):
    # PostgreSQL can neither store nor compare a NUL, nor store a lone surrogate (JSON
    # can spell one, "\ud800"): unchecked, each of these was a 500.
    _, tps = tps_pool()
    ppk = client(issue("ppk", tps[0][:6]))
    assert ppk.submit(tps[0], body_for(tps[0])).status_code == 201
    for alasan in ("BA pleno \x00 7", "BA pleno \ud800 7"):
        resp = ppk.submit(tps[0], {**body_for(tps[0]), "alasan": alasan}, path="/koreksi")
        assert resp.status_code == 422 and [t["kode"] for t in resp.json()["temuan"]] == ["ALASAN_TIDAK_SAH"]
    resp = ppk.submit(tps[0] + "%00", body_for(tps[0]))
    assert resp.status_code == 404 and resp.headers["Content-Type"] == "application/problem+json"
    resp = ppk.session.get(f"{stack.intake_url}/api/v1/hasil/ppwp/{tps[0]}%00/riwayat", timeout=30)
    assert resp.status_code == 404 and resp.headers["Content-Type"] == "application/problem+json"
    assert versions(tps[0]) == [(1, "kirim")]


def test_psu_replaces_the_original_which_stays_in_history(stack, client, issue, tps_pool):
    desa, tps = tps_pool()
    kpps = client(issue("kpps", tps[0]))
    assert kpps.submit(tps[0], body_for(tps[0])).status_code == 201
    repeat = sintetis.hasil(tps[0], PASLON, seed=99)
    resp = kpps.submit(tps[0], {**repeat, "alasan": "PSU: keputusan KPU Kab. Jombang"}, path="/psu")
    assert resp.status_code == 201 and resp.json()["versi"] == 2
    assert [v.jenis for v in versions(tps[0])] == ["kirim", "psu"]
    quiesce()
    [mine] = [a for a in recap(stack, desa)["anak"] if a["kode"] == tps[0]]
    assert mine["suara"] == susun(ratakan(repeat), PASLON)["suara"]


# --- locks ------------------------------------------------------------------------

def test_lock_after_plenary_refuses_changes_until_a_wider_role_unlocks(stack, client, issue, tps_pool):
    _, tps = tps_pool()
    kecamatan = tps[0][:6]
    kpps, ppk = client(issue("kpps", tps[0])), client(issue("ppk", kecamatan))
    assert kpps.submit(tps[0], body_for(tps[0])).status_code == 201
    lock_url = f"{stack.intake_url}/api/v1/wilayah/{kecamatan}/kunci"
    assert kpps.session.post(lock_url, timeout=10).status_code == 403
    assert ppk.session.post(lock_url, timeout=10).status_code == 201
    assert requests.get(lock_url, timeout=10).json()["dikunci"] is True

    refused = kpps.submit(tps[0], body_for(tps[0]))
    assert refused.status_code == 409 and refused.json()["kode"] == "WILAYAH_DIKUNCI"
    assert ppk.submit(tps[0], {**body_for(tps[0]), "alasan": "x"}, path="/koreksi").status_code == 409
    assert ppk.session.delete(lock_url, timeout=10).status_code == 403  # not wider than ppk
    kab = client(issue("kpu_kab", "3517"))
    assert kab.session.delete(lock_url, timeout=10).status_code == 200
    assert kpps.submit(tps[0], body_for(tps[0])).status_code == 201
    with engine().connect() as conn:
        trail = conn.execute(text("""SELECT tindakan, oleh FROM audit WHERE kode_wilayah = :k
                                     AND tindakan LIKE '%kunci' ORDER BY id"""),
                             {"k": kecamatan}).all()
    assert [t.tindakan for t in trail] == ["kunci", "buka_kunci"]
    assert trail[0].oleh.startswith("ppk:") and trail[1].oleh.startswith("kpu_kab:")


# --- Redis down: intake keeps answering, nothing is lost ---------------------------

def test_redis_stopped_during_submissions_loses_nothing(stack, client, issue, tps_pool, services):
    from shared.embedded import Redis
    from services.recap.verify import verify

    owned = [s for s in services if isinstance(s, Redis)]
    if not owned:
        pytest.skip("REDIS_URL names an external Redis this test cannot stop")
    redis_server = owned[0]
    desa, tps = tps_pool()
    kab = client(issue("kpu_kab", "3517"))
    redis_server.stop()
    try:
        during = [kab.submit(k, body_for(k)) for k in tps[:4]]
        assert [r.status_code for r in during] == [201] * 4
    finally:
        redis_server.start()
    quiesce(timeout=90)  # the reconciler on beat wakes a worker once Redis is back
    assert recap(stack, desa)["progres"]["tps_masuk"] == 4
    with engine().connect() as conn:
        assert verify(conn, "ppwp") == []


# --- the record cannot be rewritten --------------------------------------------------

def test_versions_and_audit_are_append_only_in_the_database(stack, client, issue, tps_pool):
    import subprocess
    import sys

    from sqlalchemy.exc import DBAPIError

    _, tps = tps_pool()
    assert client(issue("kpps", tps[0])).submit(tps[0], body_for(tps[0])).status_code == 201
    for statement in ("UPDATE hasil SET status = 'diterima' WHERE kode_tps = :t",
                      "DELETE FROM hasil WHERE kode_tps = :t",
                      "UPDATE audit SET oleh = 'x' WHERE kode_wilayah = :t",
                      "DELETE FROM audit WHERE kode_wilayah = :t",
                      "TRUNCATE audit"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine().begin() as conn:
                conn.execute(text(statement), {"t": tps[0]})
    out = subprocess.run([sys.executable, "-m", "services.cli", "audit", tps[0]], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "hasil_kirim" in out.stdout and tps[0] in out.stdout


# --- PostgreSQL restarted while KPPS keep retrying ------------------------------------

def test_database_restart_answers_503_then_the_same_key_lands_once(stack, client, issue, tps_pool, services):
    from shared.db.engine import dispose
    from shared.embedded import Postgres
    from services.recap.verify import verify

    owned = [s for s in services if isinstance(s, Postgres)]
    if not owned:
        pytest.skip("DATABASE_URL names an external PostgreSQL this test cannot restart")
    database = owned[0]
    desa, tps = tps_pool()
    raw = issue("kpu_kab", "3517")
    kab = client(raw)
    assert kab.submit(tps[0], body_for(tps[0])).status_code == 201  # warm pools everywhere
    keys = {k: str(uuid.uuid4()) for k in tps[1:4]}
    database.stop()
    try:
        during = [kab.submit(k, body_for(k), key=keys[k]) for k in keys]
        assert {r.status_code for r in during} <= {503}, [r.text for r in during]
        assert all(r.json()["kode"] == "TIDAK_TERSEDIA" and r.json()["pesan"] for r in during)
    finally:
        database.start()
        dispose()  # this test process's own pooled connections died with the server
    # The KPPS client retries with the same keys until it gets its 201.
    for kode, key in keys.items():
        for _ in range(20):
            resp = kab.submit(kode, body_for(kode), key=key)
            if resp.status_code != 503:
                break
            time.sleep(0.5)
        assert resp.status_code == 201, resp.text
        assert kab.submit(kode, body_for(kode), key=key).json()["versi"] == 1  # a replay, not a second version
    assert [len(versions(k)) for k in keys] == [1, 1, 1]
    quiesce(timeout=90)
    assert recap(stack, desa)["progres"]["tps_masuk"] == 4
    with engine().connect() as conn:
        assert verify(conn, "ppwp") == []
