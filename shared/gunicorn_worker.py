"""gunicorn's threaded worker, made safe against slow clients (slowloris).

gthread hands a connection to a thread as soon as its first bytes arrive, and
the thread reads the rest of the request from a blocking socket with no
timeout: a few dozen clients sending their headers or body a byte at a time
hold every thread, and the KPPS get no answer. This worker changes two things.

- The main loop, already an event loop, reads each request's headers, and a
  small body (a C.Hasil is about 1 KB), before a thread sees the connection.
  A slow client then costs a socket and a few KB, never a thread; the loop
  drops it when its time is up.
- What a thread still reads from the client (a large body: a photo) goes
  through `_Reader`, which gives every read a timeout from the same clock, so
  a stalled or crawling upload frees its thread too. Such requests run in a
  pool of their own (WEB_UPLOAD_THREADS): however many photos crawl in over
  2G, the requests that have arrived (every C.Hasil) never queue behind them.

The clock, per request: the request line and headers complete within
WEB_HEADER_TIMEOUT s of the connection (or, on a kept-alive connection, of the
request's first byte); the body never silent for WEB_BODY_IDLE_TIMEOUT s and,
after that much grace, averaging at least WEB_BODY_MIN_RATE bytes/s. A client
out of time is closed with one warning line and no answer. Settings:
shared/settings.py; the numbers are argued in docs/reliability.md.

It also spreads connections evenly over the workers (shared.balance): a worker
holding more than the fewest any other holds, plus SLACK, stops listening
until the others catch up.
"""

import errno
import re
import selectors
import time
from concurrent import futures
from functools import partial

from gunicorn import http
from gunicorn.workers.gthread import TConn, ThreadWorker

from shared import balance, settings

BUFFER = 64 * 1024  # what the main loop reads of one request at most; honest headers are under 8 KB
_END = b"\r\n\r\n"
_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*(\d+)[ \t]*\r", re.IGNORECASE)
# A body a thread must read itself: chunked (no length), or a client waiting for "100 Continue".
_THREAD_READS = re.compile(rb"\r\n(?:transfer-encoding|expect)[ \t]*:", re.IGNORECASE)
SLACK = 1  # connections a worker may hold beyond the least loaded one's and still accept
BALANCE_EVERY = 0.01  # s: how often the main loop reports its count and looks at the others'
PAUSED_WAIT = 0.02  # s: the main loop's longest wait while not listening (else gthread waits 1 s)


class SlowClient(BaseException):
    """A read ran out of time. A BaseException, like gevent's Timeout, so that the
    app's `except Exception` (Flask's 500 handler) lets it through to the worker."""


class _Clock:
    """How long the client of one request still has, and what it failed if that runs out."""

    def __init__(self, limits: settings.ClientLimits, now: float):
        self.limits = limits
        self.header_deadline = now + limits.header_timeout
        self.body_since = None  # None while the headers arrive
        self.waiting_since = now  # idle time counts from here
        self.received = 0  # body bytes

    def start_body(self, now: float, received: int = 0) -> None:
        self.body_since = self.waiting_since = now
        self.received = received

    def got(self, size: int, now: float) -> None:
        self.waiting_since = now
        if self.body_since is not None:
            self.received += size

    def left(self, now: float) -> float:
        """Seconds the client still has."""
        limits = self.limits
        if self.body_since is None:
            return self.header_deadline - now
        left = self.waiting_since + limits.body_idle_timeout - now
        if limits.body_min_rate:
            # The average since the body began, after a grace of the idle timeout:
            # a 2G link is slow to start, but a byte now and then is not an upload.
            left = min(left, self.body_since + limits.body_idle_timeout + self.received / limits.body_min_rate - now)
        return left

    def failed(self, now: float) -> str:
        """What the client failed, once its time is up."""
        limits = self.limits
        if self.body_since is None:
            return f"request headers not complete within {limits.header_timeout:g} s"
        return (f"request body too slow: {self.received} bytes in {now - self.body_since:.1f} s "
                f"(limits: silent {limits.body_idle_timeout:g} s, {limits.body_min_rate} bytes/s on average)")


class _Arriving:
    """A request the main loop is reading: what came so far, and how much it waits for."""

    def __init__(self, clock: _Clock):
        self.clock = clock
        self.data = bytearray()
        self.scanned = 0  # where to resume looking for the end of the headers
        self.wanted = None  # headers and small body, in bytes, once the headers are in
        self.complete = False  # the whole request is in: the thread will not wait on the client

    def add(self, data: bytes, now: float) -> bool:
        """Take bytes from the socket; True when the thread's turn has come."""
        self.data += data
        self.clock.got(len(data), now)
        if self.wanted is None:
            end = self.data.find(_END, max(self.scanned - 3, 0))
            self.scanned = len(self.data)
            if end < 0:
                # Longer than honest headers: the thread reads on, on the header clock,
                # and gunicorn's parser judges them against its limits.
                return len(self.data) >= BUFFER
            head = bytes(self.data[:end + 2])
            length = _LENGTH.search(head)
            if _THREAD_READS.search(head) or (length and end + 4 + int(length[1]) > BUFFER):
                return True  # a body the thread reads (under the same clock)
            if not length:
                self.complete = True  # no body
                return True
            self.wanted = end + 4 + int(length[1])
            self.clock.start_body(now, len(self.data) - end - 4)
        self.complete = len(self.data) >= self.wanted
        return self.complete


class _Reader:
    """What gunicorn's request parser reads instead of the socket: first what the
    main loop has read, then the socket, each read bounded by the request's clock."""

    def __init__(self, sock):
        self.sock = sock
        self.pending = b""
        self.clock = None

    def recv(self, size: int) -> bytes:
        if self.pending:
            data, self.pending = self.pending[:size], self.pending[size:]
            return data
        now = time.monotonic()
        self.clock.waiting_since = now  # time the app spent before this read is not the client's
        # At least a moment: bytes that came while the app was busy still count.
        self.sock.settimeout(max(self.clock.left(now), 0.01))
        try:
            data = self.sock.recv(size)
        except TimeoutError:
            raise SlowClient(self.clock.failed(time.monotonic())) from None
        finally:
            self.sock.settimeout(None)  # writes stay unbounded: a workbook to a slow phone is fine
        self.clock.got(len(data), time.monotonic())
        return data


class _Poller(selectors.DefaultSelector):
    """gthread's selector, whose wait the worker can shorten (while it is not listening,
    to notice soon that the others caught up)."""

    longest: float | None = None

    def select(self, timeout=None):
        if self.longest is not None:
            timeout = self.longest if timeout is None else min(timeout, self.longest)
        return super().select(timeout)


class _Settled:
    """A worker's gunicorn Config with each value looked up once.

    Config answers every attribute by walking its settings (`__getattr__`, and
    properties such as is_ssl), and gunicorn reads it about 29 times per request,
    17 of them in its request parser, which then takes 35 µs instead of 20 µs for
    a C.Hasil. A worker's configuration never changes (a reload starts new
    workers), so each answer is asked of Config once, properties included, and
    kept as a plain attribute."""

    def __init__(self, cfg):
        self._config = cfg

    def __getattr__(self, name):  # only for names not kept yet
        value = getattr(self._config, name)
        setattr(self, name, value)
        return value


class SlowClientWorker(ThreadWorker):
    """gthread whose threads only get requests that have arrived, or reads bounded in time,
    and whose workers share the connections evenly."""

    loads: balance.Loads | None = None  # made in the master (check_config), inherited by the workers

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)  # in the master, before the fork
        self.limits = settings.client_limits()
        # Connections whose request the main loop is reading; only the main loop touches it.
        self._arriving: dict[TConn, _Arriving] = {}
        self.row = self.loads.reserve() if self.loads else None
        self._tls = self.cfg.is_ssl  # a property that walks gunicorn's settings: once, not per read
        self._uploads = None  # the pool for requests whose body is still arriving (made after the fork)
        self._listeners: list = []  # (socket, callback) while not listening, else empty
        self._balanced = 0.0  # when the main loop last balanced

    @classmethod
    def check_config(cls, cfg, log):
        super().check_config(cfg, log)
        settings.client_limits()  # a bad value stops the master at start
        cls.loads = balance.Loads()

    def run(self):
        self.cfg = _Settled(self.cfg)  # after the fork: the master keeps the real one
        self._uploads = futures.ThreadPoolExecutor(self.limits.upload_threads, thread_name_prefix="upload")
        self.poller.close()  # gthread's, still empty: the listeners are registered in run()
        self.poller = _Poller()
        self._balance()  # report at once: a burst may come before the loop's first turn
        try:
            super().run()
        finally:
            self._uploads.shutdown(wait=False)
            if self.row is not None:
                self.loads.release(self.row)

    def _balance(self):
        """Report this worker's count; listen only while no other live worker has much fewer."""
        if self.row is None:
            return
        self._balanced = time.monotonic()
        self.loads.report(self.row, self.nr_conns)
        fewest = self.loads.fewest(self.row)
        fair = fewest is None or self.nr_conns <= fewest + SLACK
        with self._lock:
            if fair and self._listeners:
                for sock, callback in self._listeners:
                    self.poller.register(sock, selectors.EVENT_READ, callback)
                self._listeners = []
                self.poller.longest = None
            elif not fair and not self._listeners and self.alive:
                self._listeners = [(key.fileobj, key.data) for key in self.poller.get_map().values()
                                   if key.fileobj in self.sockets]
                for sock, _ in self._listeners:
                    self.poller.unregister(sock)
                self.poller.longest = PAUSED_WAIT

    def accept(self, server, listener):
        try:
            sock, client = listener.accept()
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        conn = TConn(self.cfg, sock, client, server)  # non-blocking until a thread takes it
        self.nr_conns += 1
        # The clock starts now: a connection that never sends a byte is closed too.
        self._arriving[conn] = _Arriving(_Clock(self.limits, time.monotonic()))
        with self._lock:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))
        self._balance()  # before the next accept: in a burst of connections, share them out at once

    def on_client_socket_readable(self, conn, client):
        now = time.monotonic()
        arriving = self._arriving.get(conn)
        if arriving is None:  # kept alive after an answer: the next request's clock starts with its first byte
            with self._lock:
                try:
                    self._keep.remove(conn)
                except ValueError:  # closed by murder_keepalived meanwhile (as in gthread)
                    return
            arriving = self._arriving[conn] = _Arriving(_Clock(self.limits, now))
        if self._tls:  # TLS records: the thread decrypts them, under the same clock
            return self._dispatch(conn)
        try:
            data = conn.sock.recv(BUFFER)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)  # the client went away before its request was complete
        elif arriving.add(data, now):
            self._dispatch(conn)

    def _dispatch(self, conn):
        arriving = self._arriving.pop(conn)
        with self._lock:
            self.poller.unregister(conn.sock)
        if getattr(conn, "reader", None) is None:
            conn.init()  # TLS wrap; its parser reads the raw socket, so replace it
            conn.reader = _Reader(conn.sock)
            conn.parser = http.RequestParser(self.cfg, conn.reader, conn.client)
        conn.reader.pending += bytes(arriving.data)
        conn.reader.clock = arriving.clock
        if arriving.complete:
            self.enqueue_req(conn)  # gthread's: a blocking socket, and a thread
        else:  # the thread reads on from the client: one of the upload lane's
            conn.init()  # a blocking socket, as enqueue_req makes it
            self._wrap_future(self._uploads.submit(self.handle, conn), conn)

    def _close(self, conn):
        del self._arriving[conn]
        self.nr_conns -= 1
        with self._lock:
            self.poller.unregister(conn.sock)
        conn.close()

    def murder_keepalived(self):
        super().murder_keepalived()
        # The main loop calls this on every turn, at least once a second.
        now = time.monotonic()
        if now - self._balanced >= BALANCE_EVERY:
            self._balance()
        for conn, arriving in list(self._arriving.items()):
            if arriving.clock.left(now) <= 0:
                self.log.warning("slow client %s closed: %s", _peer(conn), arriving.clock.failed(now))
                self._close(conn)

    def handle(self, conn):
        try:
            return super().handle(conn)
        except SlowClient as out_of_time:
            self.log.warning("slow client %s closed: %s", _peer(conn), out_of_time)
            return (False, conn)  # gthread's finish_request closes it

    def handle_request(self, req, conn):
        clock = conn.reader.clock
        if clock.body_since is None:  # unless the main loop read the body already
            clock.start_body(time.monotonic())
        keepalive = super().handle_request(req, conn)
        # A body the app did not read (a 401 before a photo's bytes) is drained now, under
        # the body's limits: left to the parser, it would be timed as the next request's headers.
        while keepalive and req.body.read(8192):
            pass
        return keepalive


def _peer(conn) -> str:
    if isinstance(conn.client, tuple):
        return f"{conn.client[0]}:{conn.client[1]}"
    return str(conn.client) or "unix socket"
