"""Rollups: recompute a region's recap from its children's stored rows.

One batch, in one transaction (the caller commits):

1. claim: delete up to `limit` outbox rows of one level under
   FOR UPDATE SKIP LOCKED (workers never share a row) and make them
   distinct: many submissions in one desa become one rollup (coalescing);
2. lock: a try-lock per region for the rest of the transaction; a region
   another worker holds goes back to the outbox, so two workers never
   interleave on one region's row and none waits;
3. recompute each region in SQL as the sum of its children's current rows
   (TPS results for a desa, child recaps above), with progress, the count of
   `perlu_periksa` TPS and `sidik`, the fingerprint of the versions summed;
4. write only the rows that changed and queue their parents.

A crash anywhere rolls it all back and the outbox rows are there again.
Invariant, at every snapshot: each recap row equals the sum of its stored
children, or an outbox row for it exists. The reconciler and `rekap verify`
both rest on it.
"""

import time
from dataclasses import dataclass

from prometheus_client import Counter
from sqlalchemy import Connection, text

from shared.db.engine import engine
from shared.outbox import KEDALAMAN

TINGKAT_BY_DEPTH = {d: t for t, d in KEDALAMAN.items()}

ROLLUPS = Counter("rekap_rollup_wilayah", "Regions recomputed by rollups", ["tingkat"])
BUSY = Counter("rekap_rollup_sibuk", "Regions handed back because another worker held them", ["tingkat"])

# Test hook: called as trace(event, depth, kontes, kodes) with event "mulai" once the
# regions are locked and "selesai" just before the caller commits.
trace = None


CLAIM = text("""
    DELETE FROM outbox WHERE id IN (
        SELECT id FROM outbox
        WHERE kedalaman = :d
          AND (SELECT dibuat FROM outbox WHERE kedalaman = :d ORDER BY id LIMIT 1)
              <= clock_timestamp() - make_interval(secs => :age)
        ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)
    RETURNING kontes, kode""")


def claim(conn: Connection, depth: int, limit: int, min_age: float = 0.0) -> tuple[int, list[tuple[str, str]]]:
    """Delete up to `limit` outbox rows of one level; (rows deleted, distinct regions).
    With `min_age`, nothing unless the level's oldest row has waited that long
    (more children's changes gather into one rollup)."""
    rows = conn.execute(CLAIM, {"d": depth, "n": limit, "age": min_age}).all()
    return len(rows), sorted({(r.kontes, r.kode) for r in rows})


def lock(conn: Connection, regions: list[tuple[str, str]]) -> tuple[list, list]:
    """Try-lock each region for this transaction; (locked, busy elsewhere)."""
    rows = conn.execute(text("""
        SELECT t.kontes, t.kode,
               pg_try_advisory_xact_lock(hashtextextended(t.kontes || ':' || t.kode, 0)) AS ok
        FROM unnest(CAST(:kontes AS text[]), CAST(:kode AS text[])) AS t(kontes, kode)"""),
        {"kontes": [k for k, _ in regions], "kode": [c for _, c in regions]}).all()
    return [(r.kontes, r.kode) for r in rows if r.ok], [(r.kontes, r.kode) for r in rows if not r.ok]


# The children of each target and what they count: a desa sums its TPS results
# (each TPS counts 1 reported, and 1 perlu_periksa when flagged; the expected
# TPS of a desa come from the region list, so tps_total stays as seeded), a
# region above sums its child regions' recap rows.
_CHILDREN = {
    "desa": """
        SELECT k.kode_desa AS induk, k.angka, 1 AS masuk, NULL::int AS total,
               (k.status = 'perlu_periksa')::int AS periksa, k.hasil_id AS sidik
        FROM hasil_kini k
        WHERE k.kontes = CAST(:k AS text) AND k.kode_desa = ANY(CAST(:kodes AS text[]))""",
    "atas": """
        SELECT w.kode_induk AS induk, r.angka, r.tps_masuk AS masuk, r.tps_total AS total,
               r.tps_perlu_periksa AS periksa, r.sidik
        FROM wilayah w JOIN rekap r ON r.kontes = CAST(:k AS text) AND r.kode = w.kode
        WHERE w.kode_induk = ANY(CAST(:kodes AS text[]))""",
}

_RECOMPUTE = """
WITH target AS (SELECT unnest(CAST(:kodes AS text[])) AS kode),
anak AS MATERIALIZED ({children}),
hitung AS (
    SELECT induk AS kode, sum(masuk)::int AS masuk, sum(total)::int AS total,
           sum(periksa)::int AS periksa, sum(sidik)::bigint AS sidik
    FROM anak GROUP BY induk),
kotak AS (
    SELECT kode, jsonb_object_agg(key, n) AS angka FROM (
        SELECT a.induk AS kode, e.key, sum(e.value::bigint) AS n
        FROM anak a CROSS JOIN LATERAL jsonb_each_text(a.angka) AS e
        GROUP BY a.induk, e.key) per_key
    GROUP BY kode),
baru AS (
    SELECT t.kode, COALESCE(k.angka, '{{}}'::jsonb) AS angka, COALESCE(h.masuk, 0) AS masuk,
           h.total, COALESCE(h.periksa, 0) AS periksa, COALESCE(h.sidik, 0) AS sidik
    FROM target t LEFT JOIN hitung h USING (kode) LEFT JOIN kotak k USING (kode))
UPDATE rekap r
SET angka = b.angka, tps_masuk = b.masuk, tps_total = {total}, tps_perlu_periksa = b.periksa,
    sidik = b.sidik, versi = r.versi + 1, diperbarui = now()
FROM baru b
WHERE r.kontes = CAST(:k AS text) AND r.kode = b.kode
  AND (r.angka, r.tps_masuk, r.tps_total, r.tps_perlu_periksa, r.sidik)
      IS DISTINCT FROM (b.angka, b.masuk, {total}, b.periksa, b.sidik)
RETURNING r.kode
"""

RECOMPUTE_DESA = text(_RECOMPUTE.format(children=_CHILDREN["desa"], total="r.tps_total"))
RECOMPUTE_ATAS = text(_RECOMPUTE.format(children=_CHILDREN["atas"], total="COALESCE(b.total, 0)"))

QUEUE_PARENTS = text("""
    INSERT INTO outbox (kontes, kode, kedalaman)
    SELECT DISTINCT r.kontes, r.kode, CAST(:d AS smallint)
    FROM wilayah w JOIN rekap r ON r.kontes = CAST(:k AS text) AND r.kode = w.kode_induk
    WHERE w.kode = ANY(CAST(:kodes AS text[]))""")

REQUEUE = text("""
    INSERT INTO outbox (kontes, kode, kedalaman)
    SELECT t.kontes, t.kode, CAST(:d AS smallint)
    FROM unnest(CAST(:kontes AS text[]), CAST(:kode AS text[])) AS t(kontes, kode)""")


def recompute(conn: Connection, depth: int, kontes: str, kodes: list[str]) -> list[str]:
    """Recompute regions of one level from their children; the codes whose row changed."""
    stmt = RECOMPUTE_DESA if TINGKAT_BY_DEPTH[depth] == "desa" else RECOMPUTE_ATAS
    return list(conn.execute(stmt, {"k": kontes, "kodes": kodes}).scalars())


@dataclass
class Batch:
    rows: int = 0  # outbox rows claimed (deleted)
    regions: int = 0  # regions recomputed
    busy: int = 0  # regions handed back: another worker held them
    changed: int = 0  # recap rows that changed
    seconds: float = 0.0


def rollup_batch(conn: Connection, depth: int, limit: int, min_age: float = 0.0) -> Batch:
    """Claim and roll up one batch of one level. The caller commits."""
    started = time.monotonic()
    out = Batch()
    out.rows, claimed = claim(conn, depth, limit, min_age)
    if not claimed:
        return out
    locked, busy = lock(conn, claimed)
    tingkat = TINGKAT_BY_DEPTH[depth]
    if busy:
        conn.execute(REQUEUE, {"d": depth, "kontes": [k for k, _ in busy], "kode": [c for _, c in busy]})
        BUSY.labels(tingkat).inc(len(busy))
    by_kontes: dict[str, list[str]] = {}
    for kontes, kode in locked:
        by_kontes.setdefault(kontes, []).append(kode)
    for kontes, kodes in by_kontes.items():
        if trace:
            trace("mulai", depth, kontes, kodes)
        changed = recompute(conn, depth, kontes, kodes)
        if changed and depth > 0:
            conn.execute(QUEUE_PARENTS, {"d": depth - 1, "k": kontes, "kodes": changed})
        out.changed += len(changed)
        if trace:
            trace("selesai", depth, kontes, kodes)
    out.regions, out.busy = len(locked), len(busy)
    ROLLUPS.labels(tingkat).inc(len(locked))
    out.seconds = time.monotonic() - started
    return out


def pending(conn: Connection) -> int:
    return conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()


def drained(timeout: float = 60.0, steady: float = 0.0) -> float:
    """Wait until the outbox is empty (with `steady`: and has stayed empty that long), so
    every accepted result is rolled up; the seconds it took. For tests and benchmarks."""
    started = time.monotonic()
    empty_since = waiting = None
    while time.monotonic() - started < timeout:
        with engine().connect() as conn:
            waiting = pending(conn)
        now = time.monotonic()
        empty_since = None if waiting else (empty_since or now)
        if empty_since is not None and now - empty_since >= steady:
            return now - started
        time.sleep(0.05)
    raise TimeoutError(f"the outbox did not drain in {timeout:g} s ({waiting} rows left)")
