"""`rekap db upgrade`: Alembic, driven from Python so no alembic.ini path games."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from shared import settings

HERE = Path(__file__).parent


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", settings.load().database_url.replace("%", "%%"))
    return cfg


def upgrade(revision: str = "heads") -> None:
    command.upgrade(config(), revision)
