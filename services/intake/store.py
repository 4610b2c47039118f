"""Storing a C.Hasil: a new version, the current pointer and the outbox row in
one transaction; the Idempotency-Key makes every retry land on one version.

The whole write is one SQL statement (one round trip, one commit), and the
submissions that arrive together share it (group commit: groupcommit.py). On
election night PostgreSQL's cost is mostly per statement and per commit, not
per row: in a batch of eight a submission costs it less than half as much as
in a statement of its own (docs/reliability.md, "Group commit").
"""

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
import psycopg
from sqlalchemy import text

from services.intake.groupcommit import RETRY, GroupCommit
from shared.db.engine import engine

CACHE_SECONDS = 30.0
_kontes_cache: dict[str, tuple[float, list[int] | None]] = {}


class NotFound(Exception):
    """No such TPS, or the contest is not held there."""


class NothingToCorrect(Exception):
    """A correction of a TPS that has no result yet."""


class KeyConflict(Exception):
    """The Idempotency-Key was used before with another body."""


class Revoked(Exception):
    """The token the submission came with was revoked (or never issued here)."""


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


# The statement stores a batch of submissions (services/intake/groupcommit.py), one
# row of `masuk` each, given as one JSON array; each part is a CTE, and the final
# SELECT says, per submission, which part decided. Versions are numbered under a row
# lock on the current pointer, taken in one order (kontes, TPS) by every batch. The
# first version of a TPS has no row to lock: twin first versions meet at the unique
# constraint, and the later one, skipped (DO NOTHING), goes again in the next batch,
# as does a twin of an Idempotency-Key. A submission whose token's row is revoked or
# missing (`sah` false) stores nothing. The lookups are LATERAL with LIMIT so that each
# is an index probe per submission, not a join over (or a hash of) the whole table.
SAVE = """
WITH masuk AS (
    SELECT * FROM jsonb_to_recordset(CAST(%(rows)s AS jsonb)) AS r(
        i int, k text, t text, key text, sha text, jenis text, status text,
        angka jsonb, isian jsonb, temuan jsonb, alasan text, oleh text, token text)
), cek AS (
    SELECT m.*, m.token IS NULL OR valid.token IS NOT NULL AS sah,
        prior.isian_sha256 AS prior_sha, prior.jawaban AS prior_jawaban, locked.kode_wilayah AS locked,
        EXISTS (SELECT 1 FROM wilayah w WHERE w.kode = m.t AND w.tingkat = 'tps' AND EXISTS (
            SELECT 1 FROM kontes_wilayah kw WHERE kw.kontes = m.k
            AND (kw.kode_wilayah = '0' OR m.t LIKE kw.kode_wilayah || '%%'))) AS known
    FROM masuk m
    LEFT JOIN LATERAL (SELECT id AS token FROM token WHERE id = m.token AND dicabut IS NULL LIMIT 1) valid ON true
    LEFT JOIN LATERAL (SELECT isian_sha256, jawaban FROM hasil
        WHERE kontes = m.k AND kode_tps = m.t AND idempotency_key = m.key LIMIT 1) prior ON true
    LEFT JOIN LATERAL (SELECT kode_wilayah FROM kunci
        WHERE m.t LIKE kode_wilayah || '%%' OR kode_wilayah = '0' LIMIT 1) locked ON true
), current AS (
    SELECT m.k, m.t, x.versi FROM (SELECT k, t FROM masuk ORDER BY k, t) m,
    LATERAL (SELECT versi FROM hasil_kini WHERE kontes = m.k AND kode_tps = m.t FOR UPDATE) x
), new AS (
    INSERT INTO hasil (kontes, kode_tps, versi, jenis, status, angka, isian, temuan, alasan, oleh,
                       idempotency_key, isian_sha256, jawaban)
    SELECT c.k, c.t, v.versi, c.jenis, c.status, c.angka, c.isian, c.temuan, c.alasan, c.oleh, c.key, c.sha,
           jsonb_build_object('kode_tps', c.t, 'kontes', c.k, 'versi', v.versi, 'status', c.status,
                              'temuan', c.temuan)
    FROM cek c LEFT JOIN current cur ON cur.k = c.k AND cur.t = c.t,
         LATERAL (SELECT COALESCE(cur.versi, 0) + 1 AS versi) v
    WHERE c.sah AND c.known AND c.prior_sha IS NULL AND c.locked IS NULL
      AND (c.jenis <> 'koreksi' OR cur.versi IS NOT NULL)
    ORDER BY c.k, c.t
    ON CONFLICT DO NOTHING
    RETURNING id, kontes, kode_tps, versi, status, angka, jawaban
), pointer AS (
    INSERT INTO hasil_kini (kontes, kode_tps, kode_desa, hasil_id, versi, status, angka)
    SELECT kontes, kode_tps, left(kode_tps, 10), id, versi, status, angka FROM new
    ON CONFLICT (kontes, kode_tps) DO UPDATE SET hasil_id = EXCLUDED.hasil_id, versi = EXCLUDED.versi,
        status = EXCLUDED.status, angka = EXCLUDED.angka
), queued AS (
    INSERT INTO outbox (kontes, kode, kedalaman) SELECT kontes, left(kode_tps, 10), 4 FROM new
)
SELECT c.sah, c.known, c.prior_sha, c.prior_jawaban::text, c.locked, cur.versi IS NOT NULL, n.jawaban::text
FROM cek c LEFT JOIN current cur ON cur.k = c.k AND cur.t = c.t
           LEFT JOIN new n ON n.kontes = c.k AND n.kode_tps = c.t
ORDER BY c.i
"""

# One connection per process, used by whichever request thread leads the batch (one
# at a time); in autocommit, so the statement is the transaction. A connection that
# died with a database restart fails its statement, is dropped, and the batch is
# tried once more on a fresh one: safe, the Idempotency-Key makes a rerun a replay.
_held: tuple[tuple[str, int], psycopg.Cursor] | None = None


def _cursor() -> psycopg.Cursor:
    global _held
    owner = (os.environ.get("DATABASE_URL", ""), os.getpid())
    if _held is not None and _held[0] == owner and not _held[1].connection.closed:
        return _held[1]
    if _held is not None and _held[0][1] == owner[1]:
        _held[1].connection.close()  # never close a connection the parent process holds
    dsn = engine().url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg.connect(dsn, autocommit=True, application_name="rekap-intake")
    _held = (owner, conn.cursor())
    return _held[1]


def _once(text_rows: str) -> list[tuple]:
    cursor = _cursor()
    try:
        return cursor.execute(SAVE, {"rows": text_rows}, prepare=True).fetchall()
    except psycopg.OperationalError:
        cursor.connection.close()  # the next call opens a fresh one
        raise


def _execute(text_rows: str) -> list[tuple]:
    try:
        return _once(text_rows)
    except psycopg.OperationalError:
        return _once(text_rows)  # on a fresh connection: the old one may have died with a restart


def _store(rows: Sequence[dict]) -> list:
    """GroupCommit's run: one outcome per row (a result tuple, RETRY or the exception)."""
    for i, row in enumerate(rows):
        row["i"] = i
    try:
        # orjson: the standard library's encoder took 14 µs per submission, in the thread
        # that leads the batch while the others wait for it; orjson 1.3 µs.
        results = _execute(orjson.dumps(rows).decode())
    except psycopg.OperationalError:
        raise  # the database is away: every submission of the batch answers 503
    except (psycopg.Error, orjson.JSONEncodeError) as exc:
        if len(rows) == 1:
            return [exc]
        # One submission the database (or the encoder) refuses must not fail the others: each alone.
        return [_store([row])[0] for row in rows]
    outcomes = []
    for row, result in zip(rows, results):
        sah, known, prior_sha, _, locked, has_current, jawaban = result
        decided = (not sah or not known or prior_sha is not None or locked is not None or jawaban is not None
                   or (row["jenis"] == "koreksi" and not has_current))
        outcomes.append(result if decided else RETRY)
    return outcomes


_group = GroupCommit(_store)


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
         temuan: list[dict], oleh: str, key: str, sha: str, alasan: str | None = None,
         token: str | None = None) -> Versi:
    """Store a version. Raises Revoked, NotFound, KeyConflict, Locked or NothingToCorrect.

    `token`: the id of the bearer token the submission came with, whose row the statement
    checks (issued, not revoked) as it stores: exact, and no round trip of its own. None
    for callers with no token (`rekap import`, run by an operator)."""
    row = {"k": kontes, "t": kode_tps, "key": key, "sha": sha, "jenis": jenis, "status": status,
           "angka": angka, "isian": isian, "temuan": temuan, "alasan": alasan, "oleh": oleh, "token": token}
    sah, known, prior_sha, prior_jawaban, locked, _, jawaban = _group.submit(row, (kontes, kode_tps))
    if not sah:
        raise Revoked(token)
    if not known:
        raise NotFound(kode_tps)
    if prior_sha is not None:
        if prior_sha != sha:
            raise KeyConflict(key)
        return Versi(prior_jawaban, True)
    if locked is not None:
        raise Locked(locked)
    if jawaban is None:
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
