"""The whole stack as local processes: intake and export under gunicorn, recap
workers and beat under Celery. Used by `rekap run`, `rekap demo`, the
benchmarks and the integration tests, so all of them run the real thing.

Like the compose stack's restart policy, a process that dies (a crash, a
SIGKILL from a chaos test, a Celery worker giving up after its broker went
away) is started again, unless it was stopped on purpose.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from shared.embedded import free_port


class Stack:
    def __init__(self, *, workers: int = 1, beat: bool = True, log_dir: Path | None = None,
                 intake_port: int | None = None, export_port: int | None = None,
                 web_workers: int | None = None, host: str = "127.0.0.1", supervise: bool = True):
        self.intake_port = intake_port or free_port()
        self.export_port = export_port or free_port()
        self.host = host
        self.workers = workers
        self.beat = beat
        self.web_workers = web_workers
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="rekap-log-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, int] = {}
        self.supervise = supervise
        self._held: set[str] = set()  # stopped on purpose: not restarted
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.metrics_dir = Path(tempfile.mkdtemp(prefix="rekap-metrics-"))

    @property
    def intake_url(self) -> str:
        return f"http://127.0.0.1:{self.intake_port}"

    @property
    def export_url(self) -> str:
        return f"http://127.0.0.1:{self.export_port}"

    def _env(self) -> dict:
        env = dict(os.environ, INTAKE_PORT=str(self.intake_port), EXPORT_PORT=str(self.export_port),
                   PROMETHEUS_MULTIPROC_DIR=str(self.metrics_dir), PYTHONUNBUFFERED="1")
        if self.web_workers:
            env["WEB_CONCURRENCY"] = str(self.web_workers)
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", *args], env=self._env(), stdout=log, stderr=log,
                                start_new_session=True)
        self.processes[name] = proc
        return proc

    def command(self, name: str) -> list[str]:
        if name == "intake":
            return ["gunicorn", "-c", "python:services.intake.gunicorn_conf", "-b",
                    f"{self.host}:{self.intake_port}", "services.intake.app:create_app()"]
        if name == "export":
            return ["gunicorn", "-c", "python:services.export.gunicorn_conf", "-b",
                    f"{self.host}:{self.export_port}", "services.export.app:create_app()"]
        if name.startswith("worker"):  # rollups only: a workbook build never takes a rollup's slot
            return ["celery", "-A", "shared.celery_app", "worker", "-Q", "rollup", "-c", "2",
                    "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel=INFO"]
        if name == "export-worker":
            return ["celery", "-A", "shared.celery_app", "worker", "-Q", "export", "-c", "1",
                    "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel=INFO"]
        if name == "beat":
            return ["celery", "-A", "shared.celery_app", "beat", "--loglevel=INFO",
                    "-s", str(self.log_dir / "celerybeat-schedule")]
        raise KeyError(name)

    def names(self) -> list[str]:
        workers = [f"worker{i}" for i in range(1, self.workers + 1)]
        return ["intake", "export", *workers, "export-worker"] + (["beat"] if self.beat else [])

    def start(self, timeout: float = 60) -> "Stack":
        for name in self.names():
            self._spawn(name, self.command(name))
        self.wait_healthy(timeout)
        if self.supervise:
            threading.Thread(target=self._watch, name="rekap-supervisor", daemon=True).start()
        return self

    def _watch(self) -> None:
        while not self._closing.wait(0.5):
            with self._lock:
                for name, proc in list(self.processes.items()):
                    if proc.poll() is not None and name not in self._held:
                        self.restarts[name] = self.restarts.get(name, 0) + 1
                        self._spawn(name, self.command(name))

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for url in (self.intake_url, self.export_url):
            while True:
                try:
                    if requests.get(f"{url}/healthz", timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
                dead = [n for n, p in self.processes.items() if p.poll() is not None]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError(f"stack did not start (dead: {dead}); logs in {self.log_dir}")
                time.sleep(0.1)

    def send(self, name: str, sig: int) -> None:
        """Send a signal to one process's whole group (gunicorn and Celery children too)."""
        proc = self.processes[name]
        if proc.poll() is None:
            os.killpg(proc.pid, sig)

    def restart(self, name: str) -> None:
        self.stop_one(name, signal.SIGKILL)
        self.resume(name)

    def resume(self, name: str) -> None:
        """Start again a process stopped with stop_one."""
        with self._lock:
            self._held.discard(name)
            if self.processes[name].poll() is not None:
                self._spawn(name, self.command(name))

    def stop_one(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """Stop one process and keep it stopped (until resume)."""
        with self._lock:
            self._held.add(name)
        proc = self.processes.get(name)
        if proc is None or proc.poll() is not None:
            return
        self.send(name, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.send(name, signal.SIGKILL)
            proc.wait(10)

    def stop(self) -> None:
        self._closing.set()
        for name in reversed(list(self.processes)):
            self.stop_one(name)
        # The metrics files live only as long as the processes (the logs stay, to be read)
        shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
