"""One SQLAlchemy engine per process and database URL, made lazily from the settings."""

import os

from sqlalchemy import Engine, create_engine

from shared import settings

_engines: dict[str, Engine] = {}
_options = {"pool_pre_ping": False}


def configure(*, pre_ping: bool) -> None:
    """Per service, before first use: readers that can afford a ping per checkout (export)
    survive a database restart without a single failed request."""
    _options["pool_pre_ping"] = pre_ping


def engine() -> Engine:
    # Keyed by the raw setting, looked up once: this runs several times per request.
    url = os.environ.get("DATABASE_URL", "")
    if url not in _engines:
        return _make(url)
    return _engines[url]


def _make(key: str) -> Engine:
    url = settings.load().database_url
    if key not in _engines:
        # Enough pooled connections for every gunicorn thread: connections beyond the
        # pool are closed on return, and opening one costs more than the request.
        size = int(os.environ.get("DB_POOL_SIZE", int(os.environ.get("WEB_THREADS", 8)) + 2))
        # No pre-ping by default (a round trip per request, on the intake's hot path):
        # after a database restart the first request per process fails with 503 and
        # the stale pool is dropped; KPPS clients retry with their Idempotency-Key.
        _engines[key] = create_engine(url, pool_size=size, max_overflow=size, pool_recycle=300, **_options)
    return _engines[key]


def dispose() -> None:
    """Drop pooled connections: in a forked child, or after the database restarted."""
    for made in _engines.values():
        made.dispose(close=False)
    _engines.clear()
