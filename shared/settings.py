"""Settings from the environment (12-factor), with defaults for a local run."""

import os
from dataclasses import dataclass
from pathlib import Path


def _sqlalchemy_url(url: str) -> str:
    # Accept the plain libpq form operators write; SQLAlchemy needs the driver named.
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    secret_key: str
    intake_port: int
    export_port: int
    data_dir: Path

    @property
    def libpq_url(self) -> str:
        """The URL for psycopg and psql, without SQLAlchemy's driver suffix."""
        return self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)


_NAMES = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "INTAKE_PORT", "EXPORT_PORT", "REKAP_DATA_DIR")
_cache: dict[tuple, Settings] = {}


def load() -> Settings:
    """The settings as the environment says now (cached per distinct environment:
    this runs on every request, and tests change the environment between runs)."""
    key = tuple(os.environ.get(name) for name in _NAMES)
    if key not in _cache:
        _cache[key] = _read(os.environ)
    return _cache[key]


def _read(env) -> Settings:
    return Settings(
        database_url=_sqlalchemy_url(env.get("DATABASE_URL", "postgresql+psycopg://rekap:rekap@127.0.0.1:5432/rekap")),
        redis_url=env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        secret_key=env.get("SECRET_KEY", "rekap-dev-secret-change-me"),
        intake_port=int(env.get("INTAKE_PORT", "8001")),
        export_port=int(env.get("EXPORT_PORT", "8002")),
        data_dir=Path(env.get("REKAP_DATA_DIR", "./data")).resolve(),
    )


@dataclass(frozen=True)
class ClientLimits:
    """How long a web worker waits on a slow client (shared/gunicorn_worker.py;
    the numbers are argued in docs/reliability.md, "Slow clients")."""

    header_timeout: float  # WEB_HEADER_TIMEOUT: s for the request line and headers, in total
    body_idle_timeout: float  # WEB_BODY_IDLE_TIMEOUT: s a request body may go silent
    body_min_rate: int  # WEB_BODY_MIN_RATE: bytes/s a body must average after that grace; 0: no minimum
    upload_threads: int  # WEB_UPLOAD_THREADS: threads per worker for requests whose body is still arriving


def client_limits(env=None) -> ClientLimits:
    env = os.environ if env is None else env
    limits = ClientLimits(header_timeout=float(env.get("WEB_HEADER_TIMEOUT", "10")),
                          body_idle_timeout=float(env.get("WEB_BODY_IDLE_TIMEOUT", "30")),
                          body_min_rate=int(env.get("WEB_BODY_MIN_RATE", "500")),
                          upload_threads=int(env.get("WEB_UPLOAD_THREADS", "8")))
    if not (0 < limits.header_timeout < 3600 and 0 < limits.body_idle_timeout < 3600 and limits.body_min_rate >= 0
            and 0 < limits.upload_threads <= 1024):
        raise ValueError(f"slow-client limits out of range: {limits} (timeouts in seconds, 0 to 3600; rate >= 0; "
                         "upload threads 1 to 1024)")
    return limits
