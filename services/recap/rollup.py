"""Rollups: recompute a region's recap from its children's stored rows.

A worker claims a batch of outbox rows of one level (deleting them under
FOR UPDATE SKIP LOCKED, so workers never share a row), takes a try-lock per
region (so two workers never interleave on one region, and none waits),
recomputes each region as the sum of its children, writes the rows that
changed and queues their parents, all in one transaction. A crash anywhere
rolls it all back and the outbox rows are there again.

Many submissions in one desa between two claims become one rollup: the
claimed rows are made distinct before any work (coalescing).
"""

import json
from collections import defaultdict

from sqlalchemy import Connection, text

from shared.domain import wilayah as w
from shared.domain.rekap import Rekap, jumlahkan
from shared.outbox import KEDALAMAN

BATCH = 500
TINGKAT_BY_DEPTH = {d: t for t, d in KEDALAMAN.items()}


def _claim(conn: Connection, depth: int, limit: int) -> list[tuple[str, str]]:
    rows = conn.execute(text("""
        WITH claimed AS (
            DELETE FROM outbox WHERE id IN (
                SELECT id FROM outbox WHERE kedalaman = :d ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)
            RETURNING kontes, kode)
        SELECT DISTINCT kontes, kode FROM claimed"""), {"d": depth, "n": limit}).all()
    return [(r.kontes, r.kode) for r in rows]


def _lock(conn: Connection, regions: list[tuple[str, str]]) -> tuple[list, list]:
    """Try-lock each region for this transaction; those busy elsewhere are returned apart."""
    rows = conn.execute(text("""
        SELECT t.kontes, t.kode, pg_try_advisory_xact_lock(hashtextextended(t.kontes || ':' || t.kode, 0)) AS ok
        FROM unnest(CAST(:kontes AS text[]), CAST(:kode AS text[])) AS t(kontes, kode)"""),
        {"kontes": [k for k, _ in regions], "kode": [c for _, c in regions]}).all()
    locked = [(r.kontes, r.kode) for r in rows if r.ok]
    busy = [(r.kontes, r.kode) for r in rows if not r.ok]
    return locked, busy


def _children(conn: Connection, depth: int, kontes: str, kodes: list[str]) -> dict[str, list[Rekap]]:
    """The current rows each region is the sum of: TPS results for a desa, child recaps above."""
    out: dict[str, list[Rekap]] = defaultdict(list)
    if TINGKAT_BY_DEPTH[depth] == "desa":
        rows = conn.execute(text("""
            SELECT kode_desa AS induk, status, angka FROM hasil_kini
            WHERE kontes = :k AND kode_desa = ANY(:kodes)"""), {"k": kontes, "kodes": kodes})
        for r in rows:
            out[r.induk].append(Rekap.dari_hasil(r.angka, r.status))
    else:
        rows = conn.execute(text("""
            SELECT w.kode_induk AS induk, r.angka, r.tps_masuk, r.tps_total, r.tps_perlu_periksa
            FROM rekap r JOIN wilayah w ON w.kode = r.kode
            WHERE r.kontes = :k AND w.kode_induk = ANY(:kodes)"""), {"k": kontes, "kodes": kodes})
        for r in rows:
            out[r.induk].append(Rekap(r.angka, r.tps_masuk, r.tps_total, r.tps_perlu_periksa))
    return out


def _write(conn: Connection, depth: int, kontes: str, sums: dict[str, Rekap]) -> list[str]:
    """Store the new sums; return the regions whose row actually changed."""
    desa = TINGKAT_BY_DEPTH[depth] == "desa"
    payload = [{"kode": kode, "angka": s.angka, "tps_masuk": s.tps_masuk,
                # A desa's expected TPS come from the region list (seeded), not from its reports.
                "tps_total": None if desa else s.tps_total,
                "tps_perlu_periksa": s.tps_perlu_periksa} for kode, s in sums.items()]
    rows = conn.execute(text("""
        UPDATE rekap r SET angka = v.angka, tps_masuk = v.tps_masuk,
               tps_total = COALESCE(v.tps_total, r.tps_total), tps_perlu_periksa = v.tps_perlu_periksa,
               versi = r.versi + 1, diperbarui = now()
        FROM jsonb_to_recordset(CAST(:payload AS jsonb))
             AS v(kode text, angka jsonb, tps_masuk int, tps_total int, tps_perlu_periksa int)
        WHERE r.kontes = :k AND r.kode = v.kode
          AND (r.angka, r.tps_masuk, r.tps_total, r.tps_perlu_periksa)
              IS DISTINCT FROM (v.angka, v.tps_masuk, COALESCE(v.tps_total, r.tps_total), v.tps_perlu_periksa)
        RETURNING r.kode"""), {"k": kontes, "payload": json.dumps(payload)})
    return [r.kode for r in rows]


def _queue_parents(conn: Connection, depth: int, kontes: str, changed: list[str]) -> None:
    parents = sorted({w.induk(kode) for kode in changed} - {None})
    if not parents or depth == 0:
        return
    # Only parents the contest has a recap row for (a kabupaten-only load stops at the kabupaten).
    conn.execute(text("""
        INSERT INTO outbox (kontes, kode, kedalaman)
        SELECT kontes, kode, :d FROM rekap WHERE kontes = :k AND kode = ANY(:kodes)"""),
        {"d": depth - 1, "k": kontes, "kodes": parents})


def rollup_batch(conn: Connection, depth: int, limit: int = BATCH) -> int:
    """Claim and roll up one batch of one level; returns how many outbox rows were claimed
    (0 when the level is empty). The caller commits."""
    claimed = _claim(conn, depth, limit)
    if not claimed:
        return 0
    locked, busy = _lock(conn, claimed)
    for kontes, kode in busy:  # another worker is on it: hand it back for later
        conn.execute(text("INSERT INTO outbox (kontes, kode, kedalaman) VALUES (:k, :w, :d)"),
                     {"k": kontes, "w": kode, "d": depth})
    by_kontes: dict[str, list[str]] = defaultdict(list)
    for kontes, kode in locked:
        by_kontes[kontes].append(kode)
    for kontes, kodes in by_kontes.items():
        children = _children(conn, depth, kontes, kodes)
        sums = {kode: jumlahkan(children.get(kode, ())) for kode in kodes}
        changed = _write(conn, depth, kontes, sums)
        _queue_parents(conn, depth, kontes, changed)
    return len(claimed)


def pending(conn: Connection) -> int:
    return conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
