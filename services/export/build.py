"""Building a region's D.Hasil workbook from the database, once per data version.

The file of a (kontes, region) is keyed by a *sidik* (fingerprint) of every
stored row the workbook shows, read in the same snapshot as its content:

- the region's own recap row: `rekap.versi` is bumped by every rollup that
  changes it;
- its children's recap rows: the sum of their `versi` (each only ever grows,
  so the sum grows on any change). The region's own `versi` is not enough:
  changes of two children that cancel out leave the region's sums, and so
  its `versi`, unchanged while the children sheet changes;
- its TPS: the sum of `hasil_kini.versi` under it. Every new result,
  correction or PSU makes a new version of its TPS, so the sum grows even
  when the sums above do not change (a finding or status change with the
  same numbers, a resubmission) and before the rollup has run;
- the TPS the region expects (`rekap.tps_total`: a new seed adds TPS);
- the database cluster (its system identifier and start time), so files
  made from another database, or before a restore, are never served;
- the writer's format (:data:`FORMAT`), so a new layout is never mixed with files
  made by an older one.

Names of regions and paslon are not part of the key: they change only by a
new seed, and a seed that adds TPS changes `tps_total`.

Everything is read in one REPEATABLE READ, read-only transaction: the key and
the content are of the same instant, whatever commits meanwhile. TPS come
from a server-side cursor, so a province of 120,000 TPS never sits in memory.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Connection, text

from shared.db.engine import engine
from services.export import cache, rekap

FORMAT = "dhasil-1"  # bump when the workbook layout changes
#: Regions with at most this many TPS are built in the request; larger ones by a job.
SYNC_TPS = int(os.environ.get("REKAP_EXPORT_SYNC_TPS", "10000"))
WAIT_SECONDS = 25.0  # how long a request waits for the same file being built elsewhere


@dataclass(frozen=True)
class Sidik:
    """The data version of one region's workbook."""

    kontes: str
    kode: str
    tingkat: str
    tps_total: int
    versi: int  # the region's own rekap.versi (what the JSON calls versi_data)
    kunci: str  # the cache key: a digest of everything the workbook shows

    @property
    def sync(self) -> bool:
        return self.tps_total <= SYNC_TPS


def sidik(conn: Connection, kontes: str, kode: str) -> Sidik | None:
    """The data version of a region's workbook; None if there is no recap of it."""
    where, params = rekap.di_rentang("h.kode_tps", kode)
    row = conn.execute(text(f"""
        SELECT r.tingkat, r.versi, r.tps_total,
               (SELECT COALESCE(sum(c.versi), 0) FROM rekap c JOIN wilayah w ON w.kode = c.kode
                WHERE c.kontes = :k AND w.kode_induk = :w) AS versi_anak,
               (SELECT COALESCE(sum(h.versi), 0) FROM hasil_kini h WHERE h.kontes = :k AND {where}) AS versi_tps,
               (SELECT system_identifier FROM pg_control_system()) AS sistem,
               pg_postmaster_start_time() AS mulai
        FROM rekap r WHERE r.kontes = :k AND r.kode = :w"""), {**params, "k": kontes, "w": kode}).first()
    if row is None:
        return None
    isi = "|".join(str(x) for x in (FORMAT, row.sistem, row.mulai.isoformat(), kontes, kode, row.tps_total,
                                     row.versi, row.versi_anak, row.versi_tps))
    kunci = hashlib.sha256(isi.encode()).hexdigest()[:32]
    return Sidik(kontes, kode, row.tingkat, row.tps_total, row.versi, kunci)


def current(kontes: str, kode: str) -> Sidik | None:
    with engine().connect() as conn:
        return sidik(conn, kontes, kode)


def write(conn: Connection, s: Sidik, target) -> None:
    """Write the workbook of `s` from the database (inside the caller's snapshot)."""
    from services.export.workbook import write_workbook

    data = rekap.region(conn, s.kontes, s.kode)
    info = rekap.kontes_info(conn, s.kontes) or {"kode": s.kontes, "nama": s.kontes, "paslon": []}
    write_workbook(target, data, rekap.tps_stream(conn, s.kontes, s.kode), info,
                   dibuat=datetime.now(timezone.utc), versi_data=data["versi_data"], sidik=s.kunci)


def snapshot():
    """A read-only REPEATABLE READ connection: one instant for the key and the content."""
    return engine().connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)


def workbook(kontes: str, kode: str, wait: float = WAIT_SECONDS) -> tuple[Sidik, Path] | None:
    """The cached workbook of the region's current data, built here unless it exists
    or is being built elsewhere (then wait for it, up to `wait` seconds: TimeoutError).
    None when the region has no recap."""
    with snapshot() as conn, conn.begin():
        s = sidik(conn, kontes, kode)
        if s is None:
            return None
        path = cache.path(s.kontes, s.kode, s.kunci)
        if path.exists():
            return s, path
        with cache.lock(s.kunci) as mine:
            if mine:
                if not path.exists():
                    cache.store(path, lambda target: write(conn, s, target))
                return s, path
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if path.exists():
            return s, path
        time.sleep(0.2)
    raise TimeoutError(f"workbook {path.name} is still being built elsewhere")
