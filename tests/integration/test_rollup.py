"""Rollups: every level, every contest, equal to the sum of the current TPS
results; coalesced; never two workers on one region; what bypassed the
outbox repaired by the reconciler.

Most tests here run the recap's own code (services.recap.tasks._drain, the
loop a Celery task runs) in this process against a database of their own:
two provinsi of the national 2024 list (Kalimantan Utara and Papua Selatan,
4,065 TPS) with three contests held on different scopes (president
everywhere, a governor in one provinsi, a bupati in one kabupaten), results
written through the intake's store. test_rollup_stack.py counts rollups
through the real stack.
"""

import csv
import gzip
import hashlib
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shared import outbox, sintetis
from shared.db.engine import dispose, engine
from shared.domain.hasil import ratakan
from tests.integration.conftest import fresh_database

ROOT = Path(__file__).resolve().parents[2]
NATIONAL_CSV = ROOT.parent / "shared" / "data" / "wilayah-indonesia-2024.csv.gz"
PROVINSI = ("65", "93")
PEMILU = {"nama": "uji", "kontes": [
    {"kode": "ppwp", "nama": "Presiden", "paslon": [{"nomor_urut": n, "nama": f"P{n}"} for n in (1, 2, 3)]},
    {"kode": "pkwkp", "nama": "Gubernur Kalimantan Utara", "wilayah": ["65"],
     "paslon": [{"nomor_urut": n, "nama": f"G{n}"} for n in (1, 2)]},
    {"kode": "pkwkk", "nama": "Bupati Merauke", "wilayah": ["9301"],
     "paslon": [{"nomor_urut": n, "nama": f"B{n}"} for n in (1, 2, 3, 4)]},
]}
SCOPE = {"ppwp": "", "pkwkp": "65", "pkwkk": "9301"}
PASLON = {k["kode"]: [p["nomor_urut"] for p in k["paslon"]] for k in PEMILU["kontes"]}
LEVELS = (10, 6, 4, 2)


@pytest.fixture(scope="module")
def wilayah_dua(services, tmp_path_factory):
    """A database of its own, seeded with two provinsi of the national list."""
    from shared.db import migrate, seed
    from shared.embedded import environment

    if not NATIONAL_CSV.exists():
        pytest.skip(f"{NATIONAL_CSV} not found: the national region list is not beside this clone, so "
                    "these tests on two of its provinsi cannot seed; the Jombang rollup, chaos and fault "
                    "tests of the same rollup code still run")
    url = fresh_database("rekap_rollup")
    tmp = tmp_path_factory.mktemp("wilayah")
    subset, pemilu = tmp / "wilayah.csv", tmp / "pemilu.json"
    with gzip.open(NATIONAL_CSV, "rt", encoding="utf-8", newline="") as src, open(subset, "w", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, reader.fieldnames)
        writer.writeheader()
        writer.writerows(r for r in reader if r["kode"][:2] in PROVINSI)
    pemilu.write_text(json.dumps(PEMILU))
    try:
        with environment(DATABASE_URL=url):
            migrate.upgrade()
            seed.seed(subset, pemilu)
            yield {}
    finally:
        dispose()


@pytest.fixture
def quiet_broker(monkeypatch):
    """In-process rollups: no Celery task is sent anywhere."""
    monkeypatch.setattr(outbox, "keep", lambda lajur: None)
    monkeypatch.setattr(outbox, "fan_out", lambda: 0)
    monkeypatch.setattr(outbox, "publish", lambda force=False: False)


def drain() -> None:
    from services.recap import tasks

    emptied, _ = tasks._drain(0, time.monotonic() + 300)
    assert emptied


def save(kontes: str, kode: str, body: dict, status: str = "diterima", key: str | None = None):
    from services.intake import store

    key = key or str(uuid.uuid4())
    return store.save(kontes=kontes, kode_tps=kode, jenis="kirim", isian=body, angka=ratakan(body), status=status,
                      temuan=[], oleh="test", key=key, sha=hashlib.sha256(key.encode()).hexdigest())


def tps_of(prefix: str) -> list[str]:
    with engine().connect() as conn:
        return conn.execute(text("SELECT kode FROM wilayah WHERE tingkat = 'tps' AND kode LIKE :p ORDER BY kode"),
                            {"p": prefix + "%"}).scalars().all()


def expected_rows(ledger: dict[str, dict[str, tuple[dict, str]]]) -> dict[tuple[str, str], dict]:
    """Every (kontes, region) recap computed here from the clients' final bodies."""
    with engine().connect() as conn:
        all_tps = conn.execute(text("SELECT kode FROM wilayah WHERE tingkat = 'tps'")).scalars().all()
    out: dict = {}
    for kontes, scope in SCOPE.items():
        rows: dict[str, dict] = defaultdict(lambda: {"angka": Counter(), "masuk": 0, "total": 0, "periksa": 0})
        for kode in all_tps:
            if not kode.startswith(scope):
                continue
            regions = [kode[:n] for n in LEVELS if len(scope) <= n] + ([] if scope else ["0"])
            for region in regions:
                rows[region]["total"] += 1
                if kode in ledger[kontes]:
                    body, status = ledger[kontes][kode]
                    rows[region]["angka"].update(ratakan(body))
                    rows[region]["masuk"] += 1
                    rows[region]["periksa"] += status == "perlu_periksa"
        for region, row in rows.items():
            out[(kontes, region)] = row
    return out


def test_every_level_of_every_contest_equals_its_tps(wilayah_dua, quiet_broker):
    from services.recap.tasks import stale
    from services.recap.verify import verify

    rng = random.Random(4)
    ledger: dict[str, dict] = {k: {} for k in SCOPE}
    for kontes, scope in SCOPE.items():
        for kode in tps_of(scope):
            if rng.random() > 0.4:
                continue
            for _ in range(1 + (rng.random() < 0.15)):  # some are corrected: the last version counts
                flagged = rng.random() < 0.05
                body = sintetis.hasil(kode, PASLON[kontes], seed=rng.randrange(1 << 30),
                                      rusak="identitas" if flagged else None)
                status = "perlu_periksa" if flagged else "diterima"
                assert save(kontes, kode, body, status).jawaban is not None
                ledger[kontes][kode] = (body, status)
    drain()

    want = expected_rows(ledger)
    with engine().connect() as conn:
        stored = {(r.kontes, r.kode): r for r in conn.execute(text(
            "SELECT kontes, kode, tingkat, angka, tps_masuk, tps_total, tps_perlu_periksa FROM rekap"))}
    assert set(stored) == set(want)  # a row for exactly the regions each contest is held in
    levels = Counter()
    for key, row in stored.items():
        exp = want[key]
        assert {k: int(v) for k, v in row.angka.items()} == dict(exp["angka"]), key
        assert (row.tps_masuk, row.tps_total, row.tps_perlu_periksa) == (exp["masuk"], exp["total"], exp["periksa"]), key
        levels[(key[0], row.tingkat)] += 1
    assert levels[("ppwp", "nasional")] == 1 and levels[("ppwp", "provinsi")] == 2
    assert levels[("pkwkp", "provinsi")] == 1 and ("pkwkp", "nasional") not in levels
    assert levels[("pkwkk", "kabupaten")] == 1 and ("pkwkk", "provinsi") not in levels
    national = stored[("ppwp", "0")]
    assert national.tps_total == len(tps_of("65")) + len(tps_of("93")) == 4065
    assert national.tps_masuk == len(ledger["ppwp"]) and national.tps_perlu_periksa > 0
    with engine().begin() as conn:
        assert verify(conn) == []
        assert stale(conn) == {"desa": 0, "atas": 0}


def test_burst_costs_one_rollup_per_region(wilayah_dua, quiet_broker, monkeypatch):
    """Coalescing: a backlog of 1,000 submissions costs each region touched one rollup."""
    from services.recap import tasks
    from services.recap.rollup import ROLLUPS

    def counted() -> float:
        return sum(ROLLUPS.labels(t)._value.get() for t in outbox.KEDALAMAN)

    monkeypatch.setattr(tasks, "_limits", {d: 50_000 for d in outbox.KEDALAMAN.values()})  # one batch per level
    drain()
    rng = random.Random(5)
    tps = rng.sample(tps_of("65"), 1000)
    for kode in tps:
        save("ppwp", kode, sintetis.hasil(kode, PASLON["ppwp"], seed=rng.randrange(1 << 30)))
    before = counted()
    drain()
    regions = {k[:n] for k in tps for n in LEVELS} | {"0"}
    assert counted() - before == len(regions)  # 1,000 submissions, len(regions) rollups, not 5,000


def test_reconciler_repairs_what_bypassed_the_outbox(wilayah_dua, quiet_broker, monkeypatch):
    from services.recap import tasks
    from services.recap.tasks import stale
    from services.recap.verify import verify

    drain()
    [kode] = random.Random(6).sample(tps_of("93"), 1)
    body = sintetis.hasil(kode, PASLON["ppwp"], seed=99)
    with engine().begin() as conn:
        # A version stored without its outbox row (a hand repair, a bulk load, a bug).
        conn.execute(text("""
            WITH v AS (INSERT INTO hasil (kontes, kode_tps, versi, jenis, status, angka, isian, temuan, oleh)
                       SELECT 'ppwp', CAST(:t AS text), COALESCE(max(versi), 0) + 1, 'koreksi', 'diterima', CAST(:a AS jsonb),
                              '{}', '[]', 'hand' FROM hasil WHERE kontes = 'ppwp' AND kode_tps = CAST(:t AS text)
                       RETURNING id, versi, angka)
            INSERT INTO hasil_kini (kontes, kode_tps, kode_desa, hasil_id, versi, status, angka)
            SELECT 'ppwp', CAST(:t AS text), left(CAST(:t AS text), 10), id, versi, 'diterima', angka FROM v
            ON CONFLICT (kontes, kode_tps) DO UPDATE SET hasil_id = EXCLUDED.hasil_id, versi = EXCLUDED.versi,
                status = EXCLUDED.status, angka = EXCLUDED.angka"""), {"t": kode, "a": json.dumps(ratakan(body))})
        # And a kecamatan row altered by hand.
        conn.execute(text("UPDATE rekap SET tps_masuk = tps_masuk + 1 WHERE kontes = 'pkwkp' AND kode = '650101'"))
    with engine().begin() as conn:
        assert len(verify(conn)) > 0
    # A region an outbox row already covers is left to its rollup: nothing queued twice.
    with engine().begin() as conn:
        outbox.record(conn, "ppwp", kode[:10])
        assert stale(conn)["desa"] == 0
        conn.rollback()
    published = []
    monkeypatch.setattr(outbox, "publish", lambda force=False: published.append(force) or True)
    assert tasks.rekonsiliasi_desa() == 3  # the desa; the kecamatan and its kabupaten
    assert published
    drain()
    with engine().begin() as conn:
        assert verify(conn) == []
        assert stale(conn) == {"desa": 0, "atas": 0}
    assert tasks.rekonsiliasi_desa() == 0
    # The periodic wake-up: rows waiting, no task: a task is asked for.
    published.clear()
    with engine().begin() as conn:
        outbox.record(conn, "ppwp", kode[:10])
    assert tasks.rekonsiliasi() == 1 and published == [False]
    drain()
    assert tasks.rekonsiliasi() == 0


def _run_workers(n: int, seconds: float) -> None:
    """n threads, each its own connection, each a worker's loop over the levels."""
    from services.recap.rollup import rollup_batch

    stop = time.monotonic() + seconds

    def loop():
        while time.monotonic() < stop:
            claimed = 0
            for depth in (4, 3, 2, 1, 0):
                try:
                    with engine().begin() as conn:
                        claimed += rollup_batch(conn, depth, 40).rows
                except OperationalError:  # a deadlock, possible only in the unlocked control run
                    claimed += 1
            if not claimed:
                return

    threads = [threading.Thread(target=loop) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _interleavings(monkeypatch) -> tuple[int, int]:
    """Queue overlapping batches of regions, run 4 workers; (overlapping rollups of one region, busy)."""
    from services.recap import rollup

    desa = sorted({k[:10] for k in tps_of("65")})[:60]
    with engine().begin() as conn:
        for _ in range(6):  # batches of 40 over 60 regions: neighbouring batches share regions
            for kode in desa:
                outbox.record(conn, "ppwp", kode)
    spans: dict[tuple[str, str], list[tuple[float, float, int]]] = defaultdict(list)
    open_spans: dict[tuple[int, str], float] = {}
    guard = threading.Lock()

    def trace(event, depth, kontes, kodes):
        now = time.monotonic()
        me = threading.get_ident()
        with guard:
            for kode in kodes:
                if event == "mulai":
                    open_spans[(me, kode)] = now
                else:
                    spans[(kontes, kode)].append((open_spans.pop((me, kode)), now, me))
        if event == "mulai":
            time.sleep(0.01)  # hold the regions a while: any interleaving would show

    busy_before = sum(rollup.BUSY.labels(t)._value.get() for t in outbox.KEDALAMAN)
    monkeypatch.setattr(rollup, "trace", trace)
    _run_workers(4, 60)
    monkeypatch.setattr(rollup, "trace", None)
    busy = sum(rollup.BUSY.labels(t)._value.get() for t in outbox.KEDALAMAN) - busy_before
    overlaps = 0
    for intervals in spans.values():
        intervals.sort()
        for (s1, e1, w1), (s2, e2, w2) in zip(intervals, intervals[1:]):
            overlaps += s2 < e1 and w1 != w2
    return overlaps, int(busy)


def test_two_workers_never_interleave_on_one_region(wilayah_dua, quiet_broker, monkeypatch):
    from services.recap import rollup
    from services.recap.verify import verify

    drain()
    overlaps, busy = _interleavings(monkeypatch)
    assert busy > 0, "the workers never met on a region: the test proved nothing"
    assert overlaps == 0
    with engine().begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM outbox")).scalar_one() == 0
        assert verify(conn) == []

    # The control: without the try-locks the same run interleaves, so the check above can see it.
    monkeypatch.setattr(rollup, "lock", lambda conn, regions: (regions, []))
    overlaps, _ = _interleavings(monkeypatch)
    assert overlaps > 0
