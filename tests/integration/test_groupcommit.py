"""The intake's group commit against real PostgreSQL: a batch that meets another
writer's uncommitted twin stores its submission in the next batch, a
submission the database refuses fails alone, not its whole batch, and the
statement refuses a submission whose token's row is revoked or missing."""

import hashlib
import json
import threading
import time

import orjson
import psycopg
import pytest
from sqlalchemy import text

from shared import auth, sintetis
from shared.db.engine import engine
from shared.domain.hasil import ratakan
from services.intake import store

PASLON = [1, 2, 3]


def _row(kode_tps: str, key: str, **extra) -> dict:
    body = sintetis.hasil(kode_tps, PASLON)
    return {"k": "ppwp", "t": kode_tps, "key": key, "sha": hashlib.sha256(key.encode()).hexdigest(),
            "jenis": "kirim", "status": "diterima", "angka": ratakan(body), "isian": body, "temuan": [],
            "alasan": None, "oleh": "test", **extra}


def _save(row: dict, token: str | None = None) -> store.Versi:
    return store.save(kontes=row["k"], kode_tps=row["t"], jenis=row["jenis"], isian=row["isian"],
                      angka=row["angka"], status=row["status"], temuan=row["temuan"], oleh=row["oleh"],
                      key=row["key"], sha=row["sha"], alasan=row["alasan"], token=token)


def _versions(kode_tps: str) -> list[tuple]:
    with engine().connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT versi, idempotency_key FROM hasil WHERE kontes = 'ppwp' AND kode_tps = :t ORDER BY versi"),
            {"t": kode_tps})]


class OtherWriter:
    """Another intake process's batch, stored but not yet committed."""

    def __init__(self, row: dict):
        dsn = engine().url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn = psycopg.connect(dsn)
        self.conn.execute(store.SAVE, {"rows": json.dumps([{**row, "i": 0}])})

    def commit(self) -> None:
        self.conn.commit()
        self.conn.close()


def _in_thread(fn, *args):
    out: dict = {}

    def target():
        try:
            out["value"] = fn(*args)
        except Exception as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread, out


def _blocked_on_the_other_writer() -> None:
    """Until our save waits for the other writer's row lock or uncommitted twin."""
    deadline = time.monotonic() + 20
    while True:
        with engine().connect() as conn:  # a transaction sees one snapshot of pg_stat_activity: one each
            if conn.execute(text("""SELECT 1 FROM pg_stat_activity WHERE application_name = 'rekap-intake'
                                    AND wait_event_type = 'Lock'""")).first():
                return
        assert time.monotonic() < deadline, "our save never met the other writer"
        time.sleep(0.02)


@pytest.mark.parametrize("twin", ["another key", "the same key"])
def test_a_twin_first_version_from_another_writer_is_stored_after_it(services, tps_pool, twin):
    _, (kode_tps, *_) = tps_pool()
    theirs = _row(kode_tps, "theirs")
    ours = _row(kode_tps, "ours") if twin == "another key" else dict(theirs)
    other = OtherWriter(theirs)
    thread, out = _in_thread(_save, ours)
    try:
        _blocked_on_the_other_writer()
    finally:
        other.commit()
        thread.join(20)
    assert "error" not in out, out
    saved = out["value"]
    if twin == "another key":  # skipped at the unique version, then numbered after theirs
        assert not saved.replayed and saved.jawaban["versi"] == 2
        assert _versions(kode_tps) == [(1, "theirs"), (2, "ours")]
    else:  # the same submission: the answer theirs got, and no second version
        assert saved.replayed and saved.jawaban["versi"] == 1
        assert _versions(kode_tps) == [(1, "theirs")]


def test_a_submission_the_database_refuses_fails_alone(services, tps_pool):
    _, (first, second, third, fourth, *_) = tps_pool()
    # One that PostgreSQL refuses (a NUL), one that cannot even be encoded (a lone surrogate).
    rows = [_row(first, "a"), _row(second, "b", alasan="nul \x00 byte"), _row(third, "c"),
            _row(fourth, "d", alasan="lone \ud800 surrogate")]
    outcomes = store._store(rows)
    assert isinstance(outcomes[1], psycopg.Error) and isinstance(outcomes[3], orjson.JSONEncodeError)
    assert [json.loads(outcomes[i][-1])["versi"] for i in (0, 2)] == [1, 1]
    assert _versions(first) == [(1, "a")] and _versions(third) == [(1, "c")]
    assert _versions(second) == [] and _versions(fourth) == []


def test_the_statement_stores_only_with_a_token_row_that_is_issued_and_not_revoked(services, tps_pool):
    _, (kode_tps, *_) = tps_pool()
    with engine().begin() as conn:
        _, valid = auth.issue(conn, "kpps", kode_tps, auth.parse_ttl("1h"))
        _, revoked = auth.issue(conn, "kpps", kode_tps, auth.parse_ttl("1h"))
        auth.revoke(conn, revoked.id)
    for token in (revoked.id, "never-issued"):
        with pytest.raises(store.Revoked):
            _save(_row(kode_tps, f"by {token}"), token)
    assert _versions(kode_tps) == []
    assert _save(_row(kode_tps, "valid"), valid.id).jawaban["versi"] == 1
    assert _save(_row(kode_tps, "no token"), None).jawaban["versi"] == 2  # rekap import: an operator's
    assert _versions(kode_tps) == [(1, "valid"), (2, "no token")]
