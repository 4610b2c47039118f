"""One SQLAlchemy engine per process and database URL, made lazily from the settings."""

import os

from sqlalchemy import Engine, create_engine

from shared import settings

_engines: dict[str, Engine] = {}


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
        # Pre-ping: a pooled connection is tested before use (a cheap round trip), so a
        # database restart costs no request a 503 once the database is back.
        _engines[key] = create_engine(url, pool_size=size, max_overflow=size, pool_recycle=300,
                                      pool_pre_ping=True)
    return _engines[key]


def dispose() -> None:
    """Drop pooled connections: in a forked child, or after the database restarted."""
    for made in _engines.values():
        made.dispose(close=False)
    _engines.clear()
