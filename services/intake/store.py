"""Storing a C.Hasil: a new version, the current pointer and the outbox row in
one transaction; the Idempotency-Key makes every retry land on one version."""

import json
import time

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from shared import outbox
from shared.db.engine import engine

CACHE_SECONDS = 30.0
_kontes_cache: dict[str, tuple[float, list[int] | None]] = {}


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


def tps_votes_in(conn: Connection, kontes: str, kode_tps: str) -> bool:
    """Is this a known TPS where the contest is held?"""
    return conn.execute(text("""
        SELECT 1 FROM wilayah t JOIN kontes_wilayah kw ON kw.kontes = :k
        WHERE t.kode = :t AND t.tingkat = 'tps'
          AND (kw.kode_wilayah = '0' OR t.kode LIKE kw.kode_wilayah || '%')"""),
        {"k": kontes, "t": kode_tps}).first() is not None


def _replay(conn: Connection, kontes: str, kode_tps: str, key: str, sha: str) -> dict | None:
    row = conn.execute(text("""SELECT isian_sha256, jawaban FROM hasil
                               WHERE kontes = :k AND kode_tps = :t AND idempotency_key = :key"""),
                       {"k": kontes, "t": kode_tps, "key": key}).first()
    if row is None:
        return None
    if row.isian_sha256 != sha:
        raise KeyConflict(key)
    return row.jawaban


def _locked(conn: Connection, kode_tps: str) -> str | None:
    return conn.execute(text("""SELECT kode_wilayah FROM kunci
                                WHERE :t LIKE kode_wilayah || '%' OR kode_wilayah = '0' LIMIT 1"""),
                        {"t": kode_tps}).scalar()


def save(*, kontes: str, kode_tps: str, jenis: str, isian: dict, angka: dict, status: str,
         temuan: list[dict], oleh: str, key: str, sha: str, alasan: str | None = None) -> tuple[dict, bool]:
    """Store a version; returns (the 201 body, replayed?). Raises KeyConflict or Locked."""
    for attempt in range(5):
        try:
            with engine().begin() as conn:
                replayed = _replay(conn, kontes, kode_tps, key, sha)
                if replayed is not None:
                    return replayed, True
                locked = _locked(conn, kode_tps)
                if locked:
                    raise Locked(locked)
                return _insert(conn, kontes, kode_tps, jenis, isian, angka, status, temuan, oleh, key, sha,
                               alasan), False
        except IntegrityError:
            # A twin request (same key) or another version won the race: look again.
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _insert(conn, kontes, kode_tps, jenis, isian, angka, status, temuan, oleh, key, sha, alasan) -> dict:
    current = conn.execute(text("""SELECT versi FROM hasil_kini WHERE kontes = :k AND kode_tps = :t
                                   FOR UPDATE"""), {"k": kontes, "t": kode_tps}).scalar()
    versi = (current or 0) + 1
    jawaban = {"kode_tps": kode_tps, "kontes": kontes, "versi": versi, "status": status, "temuan": temuan}
    hasil_id = conn.execute(text("""
        INSERT INTO hasil (kontes, kode_tps, versi, jenis, status, angka, isian, temuan, alasan, oleh,
                           idempotency_key, isian_sha256, jawaban)
        VALUES (:k, :t, :v, :jenis, :status, CAST(:angka AS jsonb), CAST(:isian AS jsonb),
                CAST(:temuan AS jsonb), :alasan, :oleh, :key, :sha, CAST(:jawaban AS jsonb))
        RETURNING id"""), {
        "k": kontes, "t": kode_tps, "v": versi, "jenis": jenis, "status": status, "angka": json.dumps(angka),
        "isian": json.dumps(isian), "temuan": json.dumps(temuan), "alasan": alasan, "oleh": oleh,
        "key": key, "sha": sha, "jawaban": json.dumps(jawaban)}).scalar_one()
    conn.execute(text("""
        INSERT INTO hasil_kini (kontes, kode_tps, kode_desa, hasil_id, versi, status, angka)
        VALUES (:k, :t, :desa, :id, :v, :status, CAST(:angka AS jsonb))
        ON CONFLICT (kontes, kode_tps) DO UPDATE SET hasil_id = EXCLUDED.hasil_id, versi = EXCLUDED.versi,
            status = EXCLUDED.status, angka = EXCLUDED.angka"""),
        {"k": kontes, "t": kode_tps, "desa": kode_tps[:10], "id": hasil_id, "v": versi, "status": status,
         "angka": json.dumps(angka)})
    outbox.record(conn, kontes, kode_tps[:10])
    return jawaban
