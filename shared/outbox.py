"""The transactional outbox: "this region needs a rollup".

`record` runs inside the caller's transaction, so the change and its rollup
commit together or not at all. `publish` then wakes a recap worker through
Redis; if Redis is down it fails quietly and the reconciler on Celery beat
wakes a worker once Redis is back. Nothing is lost either way: the rows wait
in PostgreSQL.
"""

import logging

import redis
from sqlalchemy import Connection, text

from shared import settings

log = logging.getLogger(__name__)

# Depth of each level in the queue: the deepest level is rolled up first.
KEDALAMAN = {"desa": 4, "kecamatan": 3, "kabupaten": 2, "provinsi": 1, "nasional": 0}

# While this key exists a rollup task is queued and not yet started, so a
# burst of submissions sends one task, not thousands (coalescing).
SCHEDULED_KEY = "rekap:rollup:dijadwalkan"
SCHEDULED_TTL_MS = 2000  # a lost task is sent again by the next submission after this
GATHER_SECONDS = 0.1  # a new task waits this long, so a burst is rolled up in batches

_redis: dict[str, redis.Redis] = {}


def record(conn: Connection, kontes: str, kode: str, tingkat: str = "desa") -> None:
    conn.execute(text("INSERT INTO outbox (kontes, kode, kedalaman) VALUES (:k, :w, :d)"),
                 {"k": kontes, "w": kode, "d": KEDALAMAN[tingkat]})


def client() -> redis.Redis:
    url = settings.load().redis_url
    if url not in _redis:
        _redis[url] = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return _redis[url]


def publish(force: bool = False) -> bool:
    """Ask for a rollup; True if a task was sent. Never raises."""
    from shared.celery_app import app

    try:
        if force or client().set(SCHEDULED_KEY, 1, nx=True, px=SCHEDULED_TTL_MS):
            app.send_task("rekap.rollup", retry=False, countdown=0 if force else GATHER_SECONDS)
            return True
    except Exception as exc:  # noqa: BLE001 - the outbox row is safe; the reconciler retries
        log.warning("rollup not published (the reconciler will): %s", exc)
    return False
