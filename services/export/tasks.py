"""Celery task of the export queue: build one region's workbook (jobs.py)."""

import logging

from celery.exceptions import SoftTimeLimitExceeded

from shared.celery_app import app
from services.export import build, jobs

log = logging.getLogger(__name__)


# Below the broker's visibility timeout (600 s), so a long build is never handed
# to a second worker while the first still runs (celery#2481).
@app.task(name=jobs.TASK, time_limit=540, soft_time_limit=500)
def workbook(job_id: str, kontes: str, kode: str) -> str | None:
    state = jobs.get(job_id) or {}
    if state.get("status") == "selesai":
        return state.get("berkas")  # a redelivered message: already done
    jobs.update(job_id, kontes=kontes, kode=kode, status="berjalan")
    try:
        result = build.workbook(kontes, kode, wait=480)
    except (Exception, SoftTimeLimitExceeded) as exc:  # noqa: BLE001 - recorded for the client
        log.exception("export job %s (%s %s) failed", job_id, kontes, kode)
        jobs.update(job_id, status="gagal", pesan=f"{exc.__class__.__name__}: {exc}")
        return None
    if result is None:
        jobs.update(job_id, status="gagal", pesan=f"no recap of {kontes} {kode}")
        return None
    s, path = result
    jobs.update(job_id, status="selesai", berkas=path.name, versi_data=s.versi, kunci=s.kunci)
    return path.name
