"""Integration fixtures: the real stack (gunicorn intake and export, a Celery
worker and beat as separate processes) on free loopback ports."""

import io
import time
import uuid

import pytest
import requests
from sqlalchemy import text

from shared import auth
from shared.db.engine import engine
from services.recap.rollup import drained


@pytest.fixture(scope="session")
def stack(services, tmp_path_factory):
    from services.stack import Stack

    log_dir = tmp_path_factory.mktemp("stack-logs")
    with Stack(workers=1, beat=True, log_dir=log_dir, web_workers=2) as running:
        yield running


@pytest.fixture(scope="session")
def issue(services):
    """issue(role, wilayah) -> a raw bearer token."""

    def make(peran: str, wilayah: str, ttl: str = "1h") -> str:
        with engine().begin() as conn:
            raw, _ = auth.issue(conn, peran, wilayah, auth.parse_ttl(ttl), subjek="test")
        return raw

    return make


@pytest.fixture(scope="session")
def tps_pool(services):
    """Hands out Jombang TPS codes no other test has used, one desa at a time."""
    with engine().connect() as conn:
        desa = conn.execute(text("""SELECT kode FROM wilayah WHERE tingkat = 'desa' AND kode LIKE '3517%'
                                    ORDER BY kode""")).scalars().all()
    return desa_pool(desa)


def desa_pool(desa: list[str]):
    """next_desa() -> (kode desa, [kode TPS]), each desa of `desa` once."""
    remaining = iter(desa)

    def next_desa() -> tuple[str, list[str]]:
        kode = next(remaining)
        with engine().connect() as conn:
            tps = conn.execute(text("SELECT kode FROM wilayah WHERE kode_induk = :d ORDER BY kode"),
                               {"d": kode}).scalars().all()
        return kode, tps

    return next_desa


class Client:
    """A KPPS-like client of the intake API."""

    def __init__(self, base: str, raw_token: str | None):
        self.base = base
        self.session = requests.Session()
        if raw_token:
            self.session.headers["Authorization"] = f"Bearer {raw_token}"

    def submit(self, kode_tps: str, body, key: str | None = None, kontes: str = "ppwp", path: str = "",
               **kwargs) -> requests.Response:
        headers = {"Idempotency-Key": key or str(uuid.uuid4()), **kwargs.pop("headers", {})}
        return self.session.post(f"{self.base}/api/v1/hasil/{kontes}/{kode_tps}{path}", json=body,
                                 headers=headers, timeout=30, **kwargs)


@pytest.fixture
def client(stack, issue):
    return lambda raw_token=None: Client(stack.intake_url, raw_token)


def quiesce(timeout: float = 60) -> None:
    """Wait until every accepted result has been rolled up (the outbox is empty)."""
    drained(timeout)


def eventually(check, timeout: float, what: str = "not within the time allowed") -> None:
    """Wait until check() is true; fail with `what` if it is not within `timeout` s."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def simpan(img, fmt: str, **kwargs) -> bytes:
    """A Pillow image as the bytes of a file in `fmt` (JPEG, PNG, ...), for photo uploads."""
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def fresh_database(name: str) -> str:
    """An empty database `name` (dropped first if it exists) on the session's PostgreSQL,
    for a test module that needs data of its own; its URL, for DATABASE_URL."""
    import psycopg
    from sqlalchemy import make_url

    from shared import settings

    url = make_url(settings.load().database_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def recap(stack, kode: str, kontes: str = "ppwp") -> dict:
    resp = requests.get(f"{stack.export_url}/api/v1/rekap/{kontes}/{kode}", timeout=30)
    resp.raise_for_status()
    return resp.json()


