"""One SQLAlchemy engine per process and database URL, made lazily from the settings."""

from sqlalchemy import Engine, create_engine

from shared import settings

_engines: dict[str, Engine] = {}


def engine(pool_size: int = 5) -> Engine:
    url = settings.load().database_url
    if url not in _engines:
        _engines[url] = create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                                      pool_pre_ping=True, pool_recycle=300)
    return _engines[url]


def dispose() -> None:
    """Drop pooled connections: in a forked child, or after the database restarted."""
    for made in _engines.values():
        made.dispose(close=False)
    _engines.clear()
