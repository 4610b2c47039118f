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


def load() -> Settings:
    env = os.environ
    return Settings(
        database_url=_sqlalchemy_url(env.get("DATABASE_URL", "postgresql+psycopg://rekap:rekap@127.0.0.1:5432/rekap")),
        redis_url=env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        secret_key=env.get("SECRET_KEY", "rekap-dev-secret-change-me"),
        intake_port=int(env.get("INTAKE_PORT", "8001")),
        export_port=int(env.get("EXPORT_PORT", "8002")),
        data_dir=Path(env.get("REKAP_DATA_DIR", "./data")).resolve(),
    )
