"""Fault injection: processes SIGKILLed mid-burst, rollup tasks delivered twice and
out of order, a data directory that cannot take a photo. After each fault:
every result answered 201 is in the recap, none is counted twice, and
`services.recap.verify.verify` finds no difference.

Clients behave like KPPS apps: a transport error or a 5xx is retried with the
same Idempotency-Key, so a retry after a kill can never make a second version.
"""

import hashlib
import random
import signal
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import text

from services.recap.verify import verify
from shared import outbox, settings, sintetis
from shared.db.engine import engine
from shared.domain.hasil import ratakan
from tests.integration.conftest import quiesce
from tests.integration.test_foto import foto_jpeg, upload

PASLON = [1, 2, 3]


def _submit(session: requests.Session, base: str, kode: str, key: str, body: dict) -> int:
    """Retry transport failures and 5xx with the same key; return the versi answered 201."""
    for attempt in range(60):
        try:
            resp = session.post(f"{base}/api/v1/hasil/ppwp/{kode}", json=body,
                                headers={"Idempotency-Key": key}, timeout=30)
            if resp.status_code < 500:
                assert resp.status_code in (200, 201), (kode, resp.status_code, resp.text)
                return resp.json()["versi"]
        except requests.RequestException:
            pass
        time.sleep(min(1.0, 0.05 * (attempt + 1)))
    raise AssertionError(f"{kode}: never answered")


def _burst(stack, issue, tps_pool, fault, desas: int = 2) -> dict:
    """Two versions per TPS of `desas` fresh desa (each key also replayed), `fault(progress)`
    running alongside; then check the recap is exact. Returns some figures."""
    tps: list[str] = []
    desa_codes = []
    for _ in range(desas):
        desa, codes = tps_pool()
        desa_codes.append(desa)
        tps.extend(codes)
    raw = issue("kpu_kab", "3517")
    rng = random.Random(len(tps))
    bodies = {k: [sintetis.hasil(k, PASLON, seed=rng.randrange(1 << 30)) for _ in range(2)] for k in tps}
    answered: dict[str, dict[int, dict]] = {}
    lock = threading.Lock()
    local = threading.local()
    done = [0]

    def one_tps(kode):
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {raw}"
        for body in bodies[kode]:
            key = str(uuid.uuid4())
            versi = _submit(local.session, stack.intake_url, kode, key, body)
            again = _submit(local.session, stack.intake_url, kode, key, body)  # a replay: same versi
            assert again == versi, (kode, versi, again)
            with lock:
                assert versi not in answered.setdefault(kode, {}), f"{kode}: v{versi} answered twice"
                answered[kode][versi] = body
                done[0] += 1

    stop = threading.Event()
    injector = threading.Thread(target=fault, args=(lambda: done[0], 2 * len(tps), stop), daemon=True)
    injector.start()
    try:
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(one_tps, tps))
    finally:
        stop.set()
        injector.join(60)
    stack.wait_healthy(60)
    quiesce(120)
    time.sleep(0.3)
    quiesce(60)

    with engine().connect() as conn:
        stored = Counter((r.kode_tps, r.versi) for r in conn.execute(
            text("SELECT kode_tps, versi FROM hasil WHERE kontes = 'ppwp' AND kode_tps = ANY(:t)"), {"t": tps}))
        current = {r.kode_tps: (r.versi, r.angka) for r in conn.execute(
            text("SELECT kode_tps, versi, angka FROM hasil_kini WHERE kontes = 'ppwp' AND kode_tps = ANY(:t)"),
            {"t": tps})}
        rows = {r.kode: r for r in conn.execute(
            text("SELECT kode, tps_masuk, angka FROM rekap WHERE kontes = 'ppwp' AND kode = ANY(:d)"),
            {"d": desa_codes})}
        diffs = verify(conn)
    expected = {(k, v) for k, vs in answered.items() for v in vs}
    assert set(stored) == expected, f"lost {sorted(expected - set(stored))[:5]} extra {sorted(set(stored) - expected)[:5]}"
    assert all(n == 1 for n in stored.values()), "a version stored twice"
    for desa in desa_codes:
        mine = [k for k in tps if k.startswith(desa)]
        total: Counter = Counter()
        for kode in mine:
            top = max(answered[kode])
            assert current[kode][0] == top and current[kode][1] == ratakan(answered[kode][top]), kode
            total.update(ratakan(answered[kode][top]))
        assert rows[desa].tps_masuk == len(mine), (desa, rows[desa].tps_masuk, len(mine))
        assert {k: int(v) for k, v in rows[desa].angka.items()} == dict(total), desa
    assert diffs == [], diffs[:10]
    return {"tps": len(tps), "accepted": len(expected)}


def test_intake_sigkilled_mid_burst_retries_land_once(stack, issue, tps_pool):
    """The whole intake process group (gunicorn master and workers) SIGKILLed twice mid-burst;
    the supervisor starts it again; clients retry with their key."""
    kills = []

    def fault(progress, total, stop):
        for at in (0.25, 0.6):
            while progress() < at * total and not stop.is_set():
                time.sleep(0.02)
            if stop.is_set():
                return
            stack.send("intake", signal.SIGKILL)
            kills.append(progress())
            time.sleep(1.0)

    figures = _burst(stack, issue, tps_pool, fault)
    assert kills, "the burst ended before intake could be killed"
    print(f"\nintake SIGKILL at {kills} of {2 * figures['tps']} submissions; {figures}")


def test_beat_sigkilled_mid_burst(stack, issue, tps_pool):
    kills = []

    def fault(progress, total, stop):
        while progress() < 0.4 * total and not stop.is_set():
            time.sleep(0.02)
        if not stop.is_set():
            stack.send("beat", signal.SIGKILL)
            kills.append(progress())

    figures = _burst(stack, issue, tps_pool, fault)
    assert kills
    print(f"\nbeat SIGKILL at {kills}; {figures}")


def test_duplicate_and_out_of_order_rollup_tasks(stack, issue, tps_pool):
    """rekap.rollup sent again and again, on every lane, with shuffled delays (so they run
    out of order), while submissions flow: a rollup is idempotent, nothing counts twice."""
    from shared.celery_app import app as celery_app

    sent = [0]

    def fault(progress, total, stop):
        rng = random.Random(8)
        # The session's Redis (the app may have been configured before it started).
        with celery_app.connection_for_write(settings.load().redis_url) as conn:
            while not stop.is_set():
                for _ in range(10):
                    celery_app.send_task("rekap.rollup", connection=conn,
                                         kwargs={"lajur": rng.randrange(outbox.lanes()),
                                                 "tunggu": rng.choice([0.0, 0.0, 0.05, 0.2])})
                    sent[0] += 1
                stop.wait(0.05)

    figures = _burst(stack, issue, tps_pool, fault)
    print(f"\n{sent[0]} extra rollup tasks; {figures}")
    assert sent[0] >= 10


@pytest.mark.parametrize("blocked", ["asli", "publik"])
def test_photo_store_that_cannot_write_answers_a_problem_and_keeps_nothing(stack, issue, tps_pool, blocked):
    """A file where the photo's directory should be (what a full or broken disk looks like to
    the app: the write fails): 507 problem+json saying so, no foto row, no temporary file; once
    the store works again the same upload succeeds."""
    _, tps = tps_pool()
    kode = tps[0]
    kpps = issue("kpps", kode)
    data = foto_jpeg(hash(blocked) & 0xFFFF)
    sha = hashlib.sha256(data).hexdigest()
    folder = settings.load().data_dir / "foto"
    # The public copy's bytes differ from the original, so its name (its own hash) is not known
    # beforehand: block the whole kind for the public copy, one prefix for the original.
    block = folder / "asli" / sha[:2] if blocked == "asli" else folder / "publik"
    block.parent.mkdir(parents=True, exist_ok=True)
    moved = None
    if block.exists():
        moved = block.with_name(block.name + ".moved-" + uuid.uuid4().hex[:6])
        block.rename(moved)
    block.write_bytes(b"not a directory")
    try:
        resp = upload(stack, kpps, kode, data, halaman=1)
        assert resp.status_code == 507, resp.text
        assert resp.headers["Content-Type"].startswith("application/problem+json"), resp.headers
        problem = resp.json()
        assert problem["kode"] == "PENYIMPANAN_GAGAL"
        assert problem["status"] == resp.status_code and problem["pesan"] and problem["message"]
        with engine().connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM foto WHERE kode_tps = :t"), {"t": kode}).scalar_one() == 0
        assert not list(folder.rglob(".tmp-*")), "a temporary file was left behind"
    finally:
        block.unlink()
        if moved is not None:
            moved.rename(block)
    again = upload(stack, kpps, kode, data, halaman=1)
    assert again.status_code == 201, again.text
    assert (folder / "asli" / sha[:2] / sha).read_bytes() == data
    with engine().connect() as conn:
        assert verify(conn) == []
    print(f"\nphoto store blocked at {blocked}: answered {resp.status_code} {problem.get('kode')}")
