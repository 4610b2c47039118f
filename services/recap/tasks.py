"""Celery tasks of the recap worker: short, idempotent, safe to run twice.

`rekap.rollup` drains the outbox level by level, deepest first, for a few
seconds at most, then hands what is left to a fresh task (short tasks keep
redelivery cheap after a crash). A task is scheduled only when none is
pending (shared.outbox), after a short delay that lets a burst gather into
batches; while one runs longer than the flag lives, the next submission
schedules another, so idle workers on other hosts join a big backlog.

`rekap.rekonsiliasi` runs on Celery beat: whatever a lost message, a dead
worker or a Redis outage left in the outbox is picked up again.
"""

import logging
import time

from sqlalchemy import text

from shared import outbox
from shared.celery_app import app
from shared.db.engine import engine
from services.recap.rollup import pending, rollup_batch

log = logging.getLogger(__name__)

TIME_BUDGET = 3.0  # seconds of work per task before handing over


def _drain(deadline: float) -> tuple[int, bool]:
    """Roll up level by level, deepest first, until the outbox is empty or the deadline.
    Returns (outbox rows claimed, emptied?)."""
    done = 0
    while time.monotonic() < deadline:
        claimed_in_pass = 0
        for depth in (4, 3, 2, 1, 0):
            with engine().begin() as conn:
                claimed_in_pass += rollup_batch(conn, depth)
        done += claimed_in_pass
        if not claimed_in_pass:
            return done, True
    return done, False


@app.task(name="rekap.rollup")
def rollup() -> int:
    deadline = time.monotonic() + TIME_BUDGET
    done = 0
    while True:
        claimed, emptied = _drain(deadline)
        done += claimed
        if not emptied:
            outbox.publish(force=True)  # budget spent with work left: continue in a fresh task
            return done
        # Empty: clear the flag so the next submission schedules a task, then look once
        # more, so that nothing committed between the last claim and the clearing waits.
        try:
            outbox.client().delete(outbox.SCHEDULED_KEY)
        except Exception as exc:  # noqa: BLE001 - the flag expires by itself
            log.warning("could not clear the schedule flag: %s", exc)
        claimed, emptied = _drain(deadline)
        done += claimed
        if emptied and not claimed:
            return done


@app.task(name="rekap.rekonsiliasi")
def rekonsiliasi() -> int:
    """Wake a rollup if anything waits in the outbox (a lost message or a Redis outage)."""
    with engine().connect() as conn:
        waiting = pending(conn)
    if waiting:
        outbox.publish(force=True)
    return waiting


@app.task(name="rekap.rekonsiliasi_desa")
def rekonsiliasi_desa() -> int:
    with engine().begin() as conn:
        queued = stale_desa(conn)
    if queued:
        log.warning("reconciler queued %d desa whose recap disagreed with their results", queued)
        outbox.publish(force=True)
    return queued


def stale_desa(conn) -> int:
    """Queue every desa whose stored TPS count disagrees with the current results.

    A rollup and its outbox delete commit together, so this finds nothing
    unless a row was changed behind the system's back; cheap insurance.
    """
    return conn.execute(text("""
        INSERT INTO outbox (kontes, kode, kedalaman)
        SELECT r.kontes, r.kode, 4 FROM rekap r
        LEFT JOIN (SELECT kontes, kode_desa, count(*) AS n FROM hasil_kini GROUP BY 1, 2) h
               ON h.kontes = r.kontes AND h.kode_desa = r.kode
        WHERE r.tingkat = 'desa' AND r.tps_masuk <> COALESCE(h.n, 0)""")).rowcount
