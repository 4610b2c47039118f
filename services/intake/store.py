"""Storing a C.Hasil: a new version, the current pointer and the outbox row in
one transaction; the Idempotency-Key makes every retry land on one version.

The whole write is one SQL statement (one round trip, one commit): on election
night the intake's cost is mostly per statement, not per byte.
"""

import json
import os
import re
import threading
import time
from dataclasses import dataclass

import psycopg
from sqlalchemy import text

from shared.db.engine import engine

CACHE_SECONDS = 30.0
_kontes_cache: dict[str, tuple[float, list[int] | None]] = {}


class NotFound(Exception):
    """No such TPS, or the contest is not held there."""


class NothingToCorrect(Exception):
    """A correction of a TPS that has no result yet."""


class KeyConflict(Exception):
    """The Idempotency-Key was used before with another body."""


class Locked(Exception):
    """A region above the TPS was locked after its plenary."""

    def __init__(self, kode: str):
        self.kode = kode
        super().__init__(kode)


def paslon(kontes: str) -> list[int] | None:
    """The paslon numbers of a contest, or None for an unknown contest (cached: contests
    change only by `rekap seed`, which operators run before the day)."""
    hit = _kontes_cache.get(kontes)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    with engine().connect() as conn:
        rows = conn.execute(text("SELECT nomor_urut FROM paslon WHERE kontes = :k ORDER BY nomor_urut"),
                            {"k": kontes}).scalars().all()
    numbers = list(rows) or None
    _kontes_cache[kontes] = (time.monotonic(), numbers)
    return numbers


# Each part is a CTE; the final SELECT says which one decided. Versions are
# numbered under a row lock on the current pointer; the first version of a TPS
# has no row to lock, so twin first submissions meet at the unique constraint.
SAVE = text("""
WITH tps AS (
    SELECT 1 FROM wilayah t
    WHERE t.kode = CAST(:t AS text) AND t.tingkat = 'tps' AND EXISTS (
        SELECT 1 FROM kontes_wilayah kw WHERE kw.kontes = CAST(:k AS text)
        AND (kw.kode_wilayah = '0' OR t.kode LIKE kw.kode_wilayah || '%'))
), prior AS (
    SELECT isian_sha256, jawaban FROM hasil
    WHERE kontes = CAST(:k AS text) AND kode_tps = CAST(:t AS text) AND idempotency_key = CAST(:key AS text)
), locked AS (
    SELECT kode_wilayah FROM kunci
    WHERE CAST(:t AS text) LIKE kode_wilayah || '%' OR kode_wilayah = '0' LIMIT 1
), current AS (
    SELECT versi FROM hasil_kini WHERE kontes = CAST(:k AS text) AND kode_tps = CAST(:t AS text) FOR UPDATE
), new AS (
    INSERT INTO hasil (kontes, kode_tps, versi, jenis, status, angka, isian, temuan, alasan, oleh,
                       idempotency_key, isian_sha256, jawaban)
    SELECT CAST(:k AS text), CAST(:t AS text), v.versi, CAST(:jenis AS text), CAST(:status AS text),
           CAST(:angka AS jsonb), CAST(:isian AS jsonb), CAST(:temuan AS jsonb), CAST(:alasan AS text),
           CAST(:oleh AS text), CAST(:key AS text), CAST(:sha AS text),
           jsonb_build_object('kode_tps', CAST(:t AS text), 'kontes', CAST(:k AS text), 'versi', v.versi,
                              'status', CAST(:status AS text), 'temuan', CAST(:temuan AS jsonb))
    FROM (SELECT COALESCE((SELECT versi FROM current), 0) + 1 AS versi) AS v
    WHERE EXISTS (SELECT 1 FROM tps) AND NOT EXISTS (SELECT 1 FROM prior) AND NOT EXISTS (SELECT 1 FROM locked)
      AND (CAST(:jenis AS text) <> 'koreksi' OR EXISTS (SELECT 1 FROM current))
    RETURNING id, versi, jawaban
), pointer AS (
    INSERT INTO hasil_kini (kontes, kode_tps, kode_desa, hasil_id, versi, status, angka)
    SELECT CAST(:k AS text), CAST(:t AS text), left(CAST(:t AS text), 10), id, versi, CAST(:status AS text),
           CAST(:angka AS jsonb) FROM new
    ON CONFLICT (kontes, kode_tps) DO UPDATE SET hasil_id = EXCLUDED.hasil_id, versi = EXCLUDED.versi,
        status = EXCLUDED.status, angka = EXCLUDED.angka
), queued AS (
    INSERT INTO outbox (kontes, kode, kedalaman) SELECT CAST(:k AS text), left(CAST(:t AS text), 10), 4 FROM new
)
SELECT EXISTS (SELECT 1 FROM tps) AS known, (SELECT isian_sha256 FROM prior) AS prior_sha,
       (SELECT jawaban::text FROM prior) AS prior_jawaban, (SELECT kode_wilayah FROM locked) AS locked,
       EXISTS (SELECT 1 FROM current) AS has_current, (SELECT jawaban::text FROM new) AS jawaban
""")


# The same statement for psycopg directly: the hot path skips SQLAlchemy's
# execution layer (a third of the request's database cost) and, run in
# autocommit, the BEGIN round trip; prepared on each connection's first run.
_SAVE_PSYCOPG = re.sub(r"(?<!:):(\w+)", r"%(\1)s", SAVE.text.replace("%", "%%"))

# Each request thread keeps one connection and cursor of its own for SAVE: no pool
# checkout, no pre-ping round trip, no new cursor per submission (together about a
# tenth of the request). A connection that died with a database restart fails its
# first statement, is dropped, and the save is tried once more on a fresh one.
_local = threading.local()


def _cursor() -> psycopg.Cursor:
    url = os.environ.get("DATABASE_URL", "")
    held = getattr(_local, "held", None)
    if held is not None and held[0] == (url, os.getpid()) and not held[1].connection.closed:
        return held[1]
    if held is not None:
        held[1].connection.close()
    dsn = engine().url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg.connect(dsn, autocommit=True, application_name="rekap-intake")  # a statement is a transaction
    _local.held = ((url, os.getpid()), conn.cursor())
    return _local.held[1]


def _execute_save(params: dict):
    cursor = _cursor()
    try:
        return cursor.execute(_SAVE_PSYCOPG, params, prepare=True).fetchone()
    except psycopg.OperationalError:
        cursor.connection.close()  # the next call opens a fresh one
        raise


@dataclass
class Versi:
    """What a save produced: the 201 body (JSON text, as stored), and whether it is a
    replay of an earlier one."""

    teks: str
    replayed: bool

    @property
    def jawaban(self) -> dict:
        return json.loads(self.teks)


def save(*, kontes: str, kode_tps: str, jenis: str, isian: dict, angka: dict, status: str,
         temuan: list[dict], oleh: str, key: str, sha: str, alasan: str | None = None) -> Versi:
    """Store a version. Raises NotFound, KeyConflict, Locked or NothingToCorrect."""
    params = {"k": kontes, "t": kode_tps, "key": key, "sha": sha, "jenis": jenis, "status": status,
              "angka": json.dumps(angka), "isian": json.dumps(isian), "temuan": json.dumps(temuan),
              "alasan": alasan, "oleh": oleh}
    reconnected = False
    for attempt in range(5):
        try:
            known, prior_sha, prior_jawaban, locked, has_current, jawaban = _execute_save(params)
            break
        except psycopg.errors.UniqueViolation:
            # A twin request (same key) or another first version won the race: look again.
            if attempt == 4:
                raise
        except psycopg.OperationalError:
            # A pooled connection that died with a database restart: try once on a fresh one.
            # Safe to repeat: the Idempotency-Key makes a second run a replay at worst.
            if reconnected:
                raise
            reconnected = True
    if not known:
        raise NotFound(kode_tps)
    if prior_sha is not None:
        if prior_sha != sha:
            raise KeyConflict(key)
        return Versi(prior_jawaban, True)
    if locked is not None:
        raise Locked(locked)
    if jawaban is None and jenis == "koreksi" and not has_current:
        raise NothingToCorrect(kode_tps)
    return Versi(jawaban, False)


def known_tps(kontes: str, kode_tps: str) -> bool:
    """Is this a TPS where the contest is held? (For reads; the write checks inside SAVE.)"""
    with engine().connect() as conn:
        return conn.execute(text("""
            SELECT 1 FROM wilayah t JOIN kontes_wilayah kw ON kw.kontes = :k
            WHERE t.kode = :t AND t.tingkat = 'tps'
              AND (kw.kode_wilayah = '0' OR t.kode LIKE kw.kode_wilayah || '%')"""),
            {"k": kontes, "t": kode_tps}).first() is not None
