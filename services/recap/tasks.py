"""Celery tasks of the recap worker: short, idempotent, safe to run twice.

`rekap.rollup(lajur)` drains the outbox for a few seconds at most, one batch
of every level per pass, deepest first (so one pass carries a TPS all the way
up to the national row), then hands what is left to a fresh task on the same
lane (short tasks keep redelivery cheap after a crash). A task that meets a
backlog bigger than a batch opens the other lanes (shared.outbox.fan_out), so
workers on every host share it through PostgreSQL (SKIP LOCKED claims,
per-region try-locks) and Redis (the lane flags) alone.

Reconciliation runs on Celery beat:
- `rekap.rekonsiliasi` (every few seconds): whatever waits in the outbox gets
  a task, whatever a lost message, a dead worker or a Redis outage left;
- `rekap.rekonsiliasi_desa` (every minute): re-queues every region whose
  stored row disagrees with what lies below it (count of TPS, flagged TPS and
  the `sidik` fingerprint of the versions summed) while no outbox row covers
  it: changes made without an outbox row (a bulk load, a hand repair, a bug)
  are rolled up too.
Both skip when another beat's run holds their lock, so more than one beat is
harmless.
"""

import logging
import time

from celery.signals import worker_process_init, worker_ready
from prometheus_client import Counter
from sqlalchemy import Connection, text

from shared import outbox
from shared.celery_app import app
from shared.db.engine import dispose, engine
from services.recap.rollup import rollup_batch

log = logging.getLogger(__name__)

TIME_BUDGET = 3.0  # seconds of work per task before handing over to a fresh one
BUSY_PAUSE = 0.02  # when a pass found only regions other workers hold, let them finish
# A pass that claimed only a few rows is followed by a short pause: under a steady
# stream of submissions each pass then rolls up a few tenths of a second's worth in one
# batch, instead of many passes of a few rows each (a pass costs five transactions
# whatever it finds: that fixed cost was most of the recap's CPU under load).
# It adds at most PASS_PAUSE to the lag after the last submission. 0.3 s rather than
# 0.1: the recap then cost a third less CPU per C.Hasil, CPU the intake gets on a
# 2-core host, for a lag still far inside its 2 s (docs/scaling.md).
PASS_PAUSE = 0.3
SMALL_PASS = 200
# A level above the desa is rolled up at most this often while the levels below it still
# have work: during a burst, a kabupaten is not recomputed after every desa. Once the
# levels below are empty, it goes at once, so the lag after the last submission is not
# affected.
UPPER_GATHER_SECONDS = 0.5

# Outbox rows claimed per batch, per level: adapted so a batch takes about
# TARGET_BATCH_SECONDS (small while a burst trickles in, large for a backlog).
BATCH_START, BATCH_MIN, BATCH_MAX = 1000, 100, 50_000
TARGET_BATCH_SECONDS = 0.3
_limits = {d: BATCH_START for d in outbox.KEDALAMAN.values()}

REPAIRS = Counter("rekap_rekonsiliasi_wilayah", "Regions the reconciler re-queued", ["jenis"])


def _adapt(depth: int, rows: int, seconds: float) -> None:
    limit = _limits[depth]
    if rows >= limit and seconds < TARGET_BATCH_SECONDS / 2:
        _limits[depth] = min(BATCH_MAX, limit * 2)
    elif seconds > TARGET_BATCH_SECONDS * 2:
        _limits[depth] = max(BATCH_MIN, limit // 2)


def _drain(lajur: int, deadline: float) -> tuple[bool, int]:
    """Passes over every level, deepest first, until the outbox is empty (True) or the
    deadline (False). Also returns how many outbox rows were claimed."""
    claimed = 0
    while time.monotonic() < deadline:
        rows = busy = regions = 0
        backlog = False
        for depth in (4, 3, 2, 1, 0):
            limit = _limits[depth]
            # While the levels below are still busy, a level waits for its changes to gather.
            gather = UPPER_GATHER_SECONDS if rows else 0.0
            with engine().begin() as conn:
                batch = rollup_batch(conn, depth, limit, gather)
            _adapt(depth, batch.rows, batch.seconds)
            if batch.rows:
                # Working: keep the lane. Only after work, never before a look: a look that
                # finds nothing must leave a closed lane closed, or submissions are not heard.
                outbox.keep(lajur)
            rows, busy, regions = rows + batch.rows, busy + batch.busy, regions + batch.regions
            backlog |= batch.rows >= limit
        claimed += rows
        if not rows:
            return True, claimed
        if backlog:
            outbox.fan_out()
        if busy and not regions:
            time.sleep(BUSY_PAUSE)
        elif rows < SMALL_PASS:
            time.sleep(min(PASS_PAUSE, max(0.0, deadline - time.monotonic())))
    return False, claimed


@app.task(name="rekap.rollup", time_limit=120, soft_time_limit=100)
def rollup(lajur: int = 0, tunggu: float = 0.0) -> int:
    if tunggu:
        time.sleep(tunggu)  # gather: a burst's first submission waits for the next ones
    deadline = time.monotonic() + TIME_BUDGET
    done = 0
    while True:
        emptied, claimed = _drain(lajur, deadline)
        done += claimed
        if not emptied:
            outbox.keep(lajur)
            outbox.send(lajur, 0.0)  # budget spent with work left: continue in a fresh task
            return done
        # Empty: close the lane so the next submission opens it again, then look once
        # more, so nothing committed between the last claim and the closing waits.
        outbox.close(lajur)
        emptied, claimed = _drain(lajur, deadline)
        done += claimed
        if emptied and not claimed:
            return done
        if not emptied:
            outbox.keep(lajur)
            outbox.send(lajur, 0.0)
            return done


def _try_lock(conn: Connection, key: int) -> bool:
    return conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar_one()


@app.task(name="rekap.rekonsiliasi", time_limit=60)
def rekonsiliasi() -> int:
    """Wake a rollup if anything waits in the outbox (a lost message or a Redis outage).
    Opens lane 0 unless a live task holds it; that task fans out by itself."""
    with engine().connect() as conn:
        waiting = conn.execute(text("SELECT EXISTS (SELECT 1 FROM outbox)")).scalar_one()
    if waiting:
        outbox.publish()
    return int(waiting)


_DEPTH = "CASE p.tingkat " + " ".join(f"WHEN '{t}' THEN {d}" for t, d in outbox.KEDALAMAN.items()) + " END"

# A desa against its TPS results.
STALE_DESA = text("""
    INSERT INTO outbox (kontes, kode, kedalaman)
    SELECT p.kontes, p.kode, 4 FROM rekap p
    LEFT JOIN (SELECT kontes, kode_desa, count(*)::int AS masuk,
                      sum((status = 'perlu_periksa')::int)::int AS periksa, sum(hasil_id)::bigint AS sidik
               FROM hasil_kini GROUP BY kontes, kode_desa) h
           ON h.kontes = p.kontes AND h.kode_desa = p.kode
    WHERE p.tingkat = 'desa'
      AND (p.tps_masuk, p.tps_perlu_periksa, p.sidik)
          IS DISTINCT FROM (COALESCE(h.masuk, 0), COALESCE(h.periksa, 0), COALESCE(h.sidik, 0))
      AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kontes = p.kontes AND o.kode = p.kode)""")

# A region above the desa against its child regions' stored rows.
STALE_ATAS = text(f"""
    INSERT INTO outbox (kontes, kode, kedalaman)
    SELECT p.kontes, p.kode, {_DEPTH} FROM rekap p
    JOIN (SELECT c.kontes, w.kode_induk, sum(c.tps_masuk) AS masuk, sum(c.tps_total) AS total,
                 sum(c.tps_perlu_periksa) AS periksa, sum(c.sidik) AS sidik
          FROM rekap c JOIN wilayah w ON w.kode = c.kode
          GROUP BY c.kontes, w.kode_induk) s
      ON s.kontes = p.kontes AND s.kode_induk = p.kode
    WHERE p.tingkat <> 'desa'
      AND (p.tps_masuk, p.tps_total, p.tps_perlu_periksa, p.sidik)
          IS DISTINCT FROM (s.masuk, s.total, s.periksa, s.sidik)
      AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kontes = p.kontes AND o.kode = p.kode)""")


def stale(conn: Connection) -> dict[str, int]:
    """Queue every region whose stored row disagrees with what lies below it and that no
    outbox row covers; {"desa": n, "atas": n}. The caller commits."""
    return {"desa": conn.execute(STALE_DESA).rowcount, "atas": conn.execute(STALE_ATAS).rowcount}


def stale_desa(conn: Connection) -> int:
    """The desa part alone (kept for callers of the walking skeleton)."""
    return conn.execute(STALE_DESA).rowcount


@app.task(name="rekap.rekonsiliasi_desa", time_limit=300)
def rekonsiliasi_desa() -> int:
    with engine().begin() as conn:
        if not _try_lock(conn, 727_004):
            return 0  # another beat's run is at it
        found = stale(conn)
    for jenis, n in found.items():
        if n:
            REPAIRS.labels(jenis).inc(n)
            log.warning("reconciler queued %d %s regions whose recap disagreed with the rows below", n, jenis)
    queued = sum(found.values())
    if queued:
        outbox.publish()
    return queued


@worker_process_init.connect
def _fresh_connections(**_) -> None:
    dispose()  # never share a connection inherited over fork


@worker_ready.connect
def _catch_up(**_) -> None:
    # A (re)started worker picks up whatever waits, even while the lane flag of a task
    # lost with a killed worker has not expired yet.
    with engine().connect() as conn:
        waiting = conn.execute(text("SELECT EXISTS (SELECT 1 FROM outbox)")).scalar_one()
    if waiting:
        outbox.publish(force=True)
