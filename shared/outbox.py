"""The transactional outbox: "this region needs a rollup".

`record` runs inside the caller's transaction, so the change and its rollup
commit together or not at all. `publish` then wakes a recap worker through
Redis; if Redis is down it fails quietly and the reconciler on Celery beat
wakes a worker once Redis is back. Nothing is lost either way: the rows wait
in PostgreSQL.

Waking is coalesced through lanes (`lajur`). Lane 0 is the one submissions
wake: while its flag exists a rollup task is queued or running, so a burst
of submissions sends one task, not thousands. A running task finding a
backlog bigger than one batch opens the other lanes (`fan_out`), one task
each, so idle workers on every host join in; each lane's task keeps its
flag alive while it works and drops it when the outbox is empty. A flag
whose task died expires by itself after LANE_TTL_MS.
"""

import logging
import os

import redis
from sqlalchemy import Connection, text

from shared import settings

log = logging.getLogger(__name__)

# Depth of each level in the queue: the deepest level is rolled up first.
KEDALAMAN = {"desa": 4, "kecamatan": 3, "kabupaten": 2, "provinsi": 1, "nasional": 0}

LANE_KEY = "rekap:rollup:lajur:{}"
LANE_TTL_MS = 5_000  # a task refreshes its lane every batch; a dead task's lane reopens after this
GATHER_SECONDS = 0.1  # a task woken by a submission waits this long, so a burst is rolled up in batches


def lanes() -> int:
    """How many rollup tasks may run at once (one per lane); more worker slots than lanes idle."""
    return max(1, int(os.environ.get("ROLLUP_LANES", "4")))


_redis: dict[str, redis.Redis] = {}


def record(conn: Connection, kontes: str, kode: str, tingkat: str = "desa") -> None:
    conn.execute(text("INSERT INTO outbox (kontes, kode, kedalaman) VALUES (:k, :w, :d)"),
                 {"k": kontes, "w": kode, "d": KEDALAMAN[tingkat]})


def client() -> redis.Redis:
    url = settings.load().redis_url
    if url not in _redis:
        _redis[url] = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return _redis[url]


def send(lajur: int, gather: float) -> None:
    from shared.celery_app import app

    kwargs = {"lajur": lajur, "tunggu": gather}
    url = settings.load().redis_url
    if app.conf.broker_url == url:
        app.send_task("rekap.rollup", kwargs=kwargs, retry=False)
        return
    # The app was configured before the environment named this broker (a process that
    # imported it early, as a test runner does): send where the settings say now.
    with app.connection_for_write(url) as conn:
        app.send_task("rekap.rollup", kwargs=kwargs, retry=False, connection=conn)


def publish(force: bool = False) -> bool:
    """Ask for a rollup on lane 0; True if a task was sent. Never raises.

    `force` sends even while the lane's flag says a task is on its way (the
    reconciler's repair of a lost message)."""
    try:
        opened = client().set(LANE_KEY.format(0), 1, nx=True, px=LANE_TTL_MS)
        if opened or force:
            send(0, 0.0 if force else GATHER_SECONDS)
            return True
    except Exception as exc:  # noqa: BLE001 - the outbox row is safe; the reconciler retries
        log.warning("rollup not published (the reconciler will): %s", exc)
    return False


def fan_out() -> int:
    """Open every idle lane: one more task each. Returns how many were sent. Never raises."""
    sent = 0
    try:
        for lajur in range(1, lanes()):
            if client().set(LANE_KEY.format(lajur), 1, nx=True, px=LANE_TTL_MS):
                send(lajur, 0.0)
                sent += 1
    except Exception as exc:  # noqa: BLE001 - the running task goes on alone
        log.warning("fan-out failed: %s", exc)
    return sent


def keep(lajur: int) -> None:
    """The task of this lane is alive and working: keep its flag."""
    try:
        client().set(LANE_KEY.format(lajur), 1, px=LANE_TTL_MS)
    except Exception:  # noqa: BLE001 - the flag expires; at worst a duplicate task is sent
        pass


def close(lajur: int) -> None:
    """The outbox looked empty: let the next submission (or fan-out) open this lane again."""
    try:
        client().delete(LANE_KEY.format(lajur))
    except Exception as exc:  # noqa: BLE001 - the flag expires by itself
        log.warning("could not close rollup lane %d: %s", lajur, exc)
