"""Slow clients (slowloris) against the real gunicorn of both services
(shared/gunicorn_worker.py): more slow raw-socket connections than a service
has threads, sending their headers or body a byte at a time or not at all.
Honest requests are still answered, and the server closes every slow one,
quietly, once its time is up.

A stack of its own with short limits, and one gunicorn worker per service, so
every slow connection competes for the same threads.
"""

import runpy
import selectors
import socket
import threading
import time
import uuid

import pytest
import requests

from shared import sintetis

LIMITS = {"WEB_HEADER_TIMEOUT": "3", "WEB_BODY_IDLE_TIMEOUT": "3", "WEB_THREADS": "4",
          "WEB_UPLOAD_THREADS": "4"}  # rate: the default 500 B/s
LIMIT = 3.0  # both timeouts above
MARGIN = 3.0  # the main loop looks at its clients once a second; the box is shared
TRICKLE = 0.5  # s between two bytes of a slow client


@pytest.fixture(scope="module")
def slow_stack(services, tmp_path_factory):
    from services.stack import Stack
    from shared.embedded import environment

    # In the environment, for the stack's processes and its supervisor's restarts.
    with environment(**LIMITS), Stack(workers=0, beat=False, log_dir=tmp_path_factory.mktemp("slow-logs"),
                                      web_workers=1) as stack:
        yield stack


@pytest.fixture(scope="module")
def threads(slow_stack) -> int:
    """Threads of one service: gunicorn workers x threads, from the settings gunicorn reads."""
    return slow_stack.web_workers * runpy.run_module("shared.gunicorn_conf")["threads"]


@pytest.fixture(scope="module")
def upload_threads(slow_stack) -> int:
    """Threads of one service for requests whose body is still arriving."""
    from shared import settings

    return slow_stack.web_workers * settings.client_limits().upload_threads


@pytest.fixture(scope="module")
def kab_token(issue) -> str:
    return issue("kpu_kab", "3517")  # write limit 100000/minute: no 429 before the body is read


class SlowClients:
    """Raw sockets, each sending its `start` at once and then, if it trickles, one
    byte every TRICKLE s, until the server closes it; a thread watches them all."""

    def __init__(self, port: int, starts: list[tuple[bytes, bool]]):
        self.socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in starts]
        self.trickles = {s: trickle for s, (_, trickle) in zip(self.socks, starts)}
        self.opened = time.monotonic()
        for s, (start, _) in zip(self.socks, starts):
            if start:
                s.sendall(start)
        self.closed: dict[socket.socket, float] = {}  # when the server closed it
        self.answered: dict[socket.socket, bytes] = {}  # what the server said, if anything
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        selector = selectors.DefaultSelector()
        for s in self.socks:
            selector.register(s, selectors.EVENT_READ)
        next_byte = time.monotonic() + TRICKLE
        while not self._stop.is_set() and len(self.closed) < len(self.socks):
            for key, _ in selector.select(0.05):
                try:
                    data = key.fileobj.recv(4096)
                except OSError:  # a reset: closed with our bytes unread
                    data = b""
                if data:
                    self.answered[key.fileobj] = self.answered.get(key.fileobj, b"") + data
                else:
                    self._closed(selector, key.fileobj)
            if time.monotonic() >= next_byte:
                for s in [s for s in self.socks if self.trickles[s] and s not in self.closed]:
                    try:
                        s.send(b"a")
                    except OSError:
                        self._closed(selector, s)
                next_byte += TRICKLE
        selector.close()

    def _closed(self, selector, s) -> None:
        self.closed[s] = time.monotonic()
        selector.unregister(s)

    def wait_closed(self, within: float) -> list[float]:
        """Each connection's life, from opening to its closing by the server."""
        self._thread.join(within + 1)
        self._stop.set()
        for s in self.socks:
            s.close()
        assert len(self.closed) == len(self.socks), f"{len(self.socks) - len(self.closed)} slow clients never closed"
        return [self.closed[s] - self.opened for s in self.socks]

    def all_open_after(self, when: float) -> bool:
        return not self.closed or min(self.closed.values()) > when


def slow_lines(stack, service: str = "intake") -> list[str]:
    """The worker's warnings about slow clients, one per client closed."""
    log = (stack.log_dir / f"{service}.log").read_text()
    return [line for line in log.splitlines() if "slow client" in line]


def answered_at(url: str, **kwargs) -> tuple[int, float]:
    resp = requests.get(url, timeout=LIMIT + MARGIN, **kwargs)
    return resp.status_code, time.monotonic()


def test_slow_headers_hold_no_thread_and_are_closed(slow_stack, threads, kab_token, tps_pool):
    _, tps = tps_pool()
    n = 2 * threads + 2
    # A third send nothing at all, a third a request line and trickle a header, a third
    # the start of a real request (export: headers only).
    starts = [(b"", False), (b"GET /healthz HTTP/1.1\r\n", True),
              (b"POST /api/v1/hasil/ppwp/%s HTTP/1.1\r\nHost: rekap\r\nX-Lambat: " % tps[0].encode(), True)]
    before = {service: len(slow_lines(slow_stack, service)) for service in ("intake", "export")}
    intake = SlowClients(slow_stack.intake_port, [starts[i % 3] for i in range(n)])
    export = SlowClients(slow_stack.export_port, [starts[1 + i % 2] for i in range(n)])
    time.sleep(2 * TRICKLE)  # the slow clients are in, some bytes have trickled

    # Honest requests, on both services, while every slow client hangs.
    status, healthz = answered_at(f"{slow_stack.intake_url}/healthz")
    assert status == 200
    status, read = answered_at(f"{slow_stack.intake_url}/api/v1/hasil/ppwp/{tps[0]}/riwayat",
                               headers={"Authorization": f"Bearer {kab_token}"})
    assert status == 200
    status, export_healthz = answered_at(f"{slow_stack.export_url}/healthz")
    assert status == 200
    assert intake.all_open_after(read) and export.all_open_after(export_healthz)

    for clients in (intake, export):
        lives = clients.wait_closed(LIMIT + MARGIN)
        assert max(lives) <= LIMIT + MARGIN
        assert not clients.answered  # quietly: no 400, no 408
    for service in ("intake", "export"):
        lines = slow_lines(slow_stack, service)[before[service]:]
        assert len(lines) == n  # one line per client
        assert all("request headers not complete within 3 s" in line for line in lines)


def test_slow_small_bodies_hold_no_thread_and_are_closed(slow_stack, threads, kab_token, tps_pool):
    """R.U.D.Y. on the C.Hasil endpoint: complete headers, then the body a byte at a
    time (or a few bytes, then silence). The main loop reads such bodies itself."""
    _, tps = tps_pool()
    n = 2 * threads + 2
    head = (f"POST /api/v1/hasil/ppwp/{tps[0]} HTTP/1.1\r\nHost: rekap\r\nAuthorization: Bearer {kab_token}\r\n"
            f"Idempotency-Key: {uuid.uuid4()}\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n"
            '{"suara": ').encode()
    before = len(slow_lines(slow_stack))
    intake = SlowClients(slow_stack.intake_port, [(head, i % 2 == 0) for i in range(n)])
    time.sleep(2 * TRICKLE)

    status, healthz = answered_at(f"{slow_stack.intake_url}/healthz")
    assert status == 200
    status, read = answered_at(f"{slow_stack.intake_url}/api/v1/hasil/ppwp/{tps[0]}/riwayat",
                               headers={"Authorization": f"Bearer {kab_token}"})
    assert status == 200
    assert intake.all_open_after(read)

    lives = intake.wait_closed(LIMIT + MARGIN)
    assert max(lives) <= LIMIT + MARGIN
    assert not intake.answered
    lines = slow_lines(slow_stack)[before:]
    assert len(lines) == n
    assert all("request body too slow" in line for line in lines)


def test_slow_photo_uploads_free_their_threads(slow_stack, upload_threads, kab_token, tps_pool):
    """Bodies too large for the main loop (a photo) are read by a thread of the upload
    lane; more slow uploads than it has threads each hold one for no longer than the
    body limits allow, and C.Hasil submissions meanwhile are answered at once."""
    _, tps = tps_pool()
    n = upload_threads + 2  # every upload thread busy, two uploads queued behind them
    boundary = "batas"
    part = (f'--{boundary}\r\nContent-Disposition: form-data; name="berkas"; filename="c1.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n")
    head = (f"POST /api/v1/hasil/ppwp/{tps[0]}/foto HTTP/1.1\r\nHost: rekap\r\nAuthorization: Bearer {kab_token}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 300000\r\n\r\n{part}").encode()
    before = len(slow_lines(slow_stack))
    intake = SlowClients(slow_stack.intake_port, [(head + b"\xff\xd8\xff", i % 2 == 0) for i in range(n)])
    time.sleep(2 * TRICKLE)

    # Not behind the uploads: a health check and a C.Hasil, while every upload still crawls.
    status, _ = answered_at(f"{slow_stack.intake_url}/healthz")
    assert status == 200
    resp = requests.post(f"{slow_stack.intake_url}/api/v1/hasil/ppwp/{tps[1]}", json=sintetis.hasil(tps[1], [1, 2, 3]),
                         headers={"Authorization": f"Bearer {kab_token}", "Idempotency-Key": str(uuid.uuid4())},
                         timeout=LIMIT)
    assert resp.status_code == 201, resp.text
    assert intake.all_open_after(time.monotonic())

    lives = intake.wait_closed(2 * LIMIT + MARGIN)
    assert max(lives) <= 2 * LIMIT + MARGIN  # the queued ones got their thread after the first were cut
    assert not intake.answered
    lines = slow_lines(slow_stack)[before:]
    assert len(lines) == n
    assert all("request body too slow" in line for line in lines)

    # The threads are free again.
    status, after = answered_at(f"{slow_stack.intake_url}/healthz")
    assert status == 200


def test_no_traceback_in_the_logs(slow_stack):
    for name in ("intake", "export"):
        assert "Traceback" not in (slow_stack.log_dir / f"{name}.log").read_text()
