"""Test harness: real PostgreSQL and Redis (embedded throwaway servers unless
DATABASE_URL / REDIS_URL name existing ones), the schema migrated and the
Jombang defaults seeded once per session."""

import os

import pytest


@pytest.fixture(scope="session")
def services(tmp_path_factory):
    os.environ.setdefault("REKAP_DATA_DIR", str(tmp_path_factory.mktemp("data")))  # photos, workbook cache
    from shared import embedded
    from shared.db import migrate, seed

    external = bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))
    with embedded.services(tmp_path_factory.mktemp("services")) as started:
        if external:
            print("\nusing DATABASE_URL and REDIS_URL from the environment")
        migrate.upgrade()
        seed.seed()
        yield started
