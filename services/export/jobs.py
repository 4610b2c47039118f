"""Workbook jobs: a large region's workbook is built by a Celery task on the
export queue while the client polls the job's URL.

A job's id is the cache key of the data version it was asked for, so asking
again for the same data finds the same job (built once). Its state lives in
Redis, a small JSON document that expires: `antre` (queued), `berjalan`
(running), `selesai` (done: `berkas` names the file), `gagal` (failed).
A job lost with its worker expires, and the next request queues it again.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from shared import outbox

log = logging.getLogger(__name__)

PREFIX = "rekap:ekspor:job:"
TTL_ACTIVE = 900  # seconds a queued or running job is remembered without news
TTL_DONE = 86_400
TTL_FAILED = 60  # a failed job may be asked for again soon
TASK = "rekap.export.workbook"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def get(job_id: str) -> dict | None:
    raw = outbox.client().get(PREFIX + job_id)
    return json.loads(raw) if raw else None


def submit(job_id: str, kontes: str, kode: str, versi: int) -> dict:
    """The job for this data version: the existing one, or a new one queued now.
    Raises when Redis is unreachable (the caller answers 503)."""
    from shared.celery_app import app

    redis = outbox.client()
    for _ in range(3):
        state = {"id": job_id, "kontes": kontes, "kode": kode, "versi_data": versi, "status": "antre",
                 "dibuat": _now(), "diperbarui": _now()}
        if redis.set(PREFIX + job_id, json.dumps(state), nx=True, ex=TTL_ACTIVE):
            app.send_task(TASK, args=[job_id, kontes, kode], retry=False)
            return state
        existing = get(job_id)
        if existing is None:
            continue  # expired in between: try again
        if existing["status"] != "gagal":
            return existing
        redis.delete(PREFIX + job_id)  # failed before: queue it anew
    raise RuntimeError(f"could not queue export job {job_id}")


def update(job_id: str, **fields) -> None:
    """Record news of a job (never raises: the job's file is what matters)."""
    try:
        state = get(job_id) or {"id": job_id}
        state.update(fields, diperbarui=_now())
        ttl = {"selesai": TTL_DONE, "gagal": TTL_FAILED}.get(state.get("status"), TTL_ACTIVE)
        outbox.client().set(PREFIX + job_id, json.dumps(state), ex=ttl)
    except Exception as exc:  # noqa: BLE001
        log.warning("export job %s: state not recorded (%s)", job_id, exc)
