"""Per-token rate limits, counted in Redis without a Redis round trip per request.

The counting is the `limits` library's fixed window. Two things are rekap's own,
because the intake bench measured flask-limiter, which did this before, as the
largest cost it could avoid (docs/reliability.md, "Rate limits"):

- `Limits` looks up one pre-parsed limit per request. flask-limiter resolved
  its decorators, scopes and limit strings again on every request.
- `BatchedRedisStorage` (URI scheme `batched+redis://`, registered with `limits`)
  spares most requests the Redis round trip, in which the request thread blocks,
  gives up the GIL and wakes again. It keeps each counter in the process:

  - While the process has seen fewer hits than a quarter of the limit (its
    local share), from itself or from Redis, a hit is counted in memory, and a
    thread adds the process's counts to Redis in one script call every
    FLUSH_SECONDS, learning the totals of all processes back. Nearly every
    token lives here: a KPPS sends a handful of forms against 30 a minute.
  - Beyond the local share, a hit goes to Redis at once, with whatever the
    process had not yet added, and is judged on Redis's total: a flood is
    refused on the numbers of all processes and hosts.

What that costs in exactness: the other processes' local shares may not have
reached Redis yet, so across P processes a flood may pass the limit by at most
(P - 1) x limit/4 in a window. While Redis is down, each process counts alone
(and refuses alone) and adds its counts when Redis is back: a KPPS is never
refused because Redis is down.
"""

import logging
import os
import threading
import time
from dataclasses import dataclass

import redis
from limits import RateLimitItem, parse
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)

# How stale another process's counts may be. Each flush wakes a thread that competes
# for the GIL with the requests: every 0.5 s rather than every 50 ms (and the wake-up
# tick of services/intake/wake.py 0.1 s rather than 20 ms) took 6 to 7% less CPU per
# C.Hasil in interleaved rounds; the limits are per minute.
FLUSH_SECONDS = 0.5
LOCAL_SHARE = 4  # a process counts alone up to limit / LOCAL_SHARE
RETRY_SECONDS = 1.0  # after a Redis error, how long to count alone before trying again
SWEEP_SECONDS = 10.0  # how often closed windows are forgotten
REDIS_TIMEOUT = 0.5  # seconds; a slow Redis must not slow a submission down
KEY_PREFIX = "rekap:batas"

# The flush's one call: add each counter's pending hits (ARGV: expiry, hits per key),
# give a new window its expiry, and answer each key's total and milliseconds left. With
# a KPPS token per TPS nearly every key of a flush is new, hundreds at a time; as a
# pipeline of two commands per key, redis-py's packing and parsing was 3 to 4% of the
# intake's CPU (docs/reliability.md, "Rate limits").
FLUSH_SCRIPT = """
local answers = {}
for i, key in ipairs(KEYS) do
    local expiry = tonumber(ARGV[2 * i - 1])
    local total = redis.call('incrby', key, ARGV[2 * i])
    local left = redis.call('pttl', key)
    if left < 0 then
        redis.call('expire', key, expiry)
        left = expiry * 1000
    end
    answers[2 * i - 1] = total
    answers[2 * i] = left
end
return answers
"""


@dataclass
class _Window:
    """One counter's fixed window, as this process knows it."""

    ends: float  # unix time the window closes (Redis's expiry, once known)
    expiry: int  # the window's length in seconds
    share: int  # hits this process may count alone
    counted: int = 0  # the total in Redis when last asked (including this process's added hits)
    pending: int = 0  # hits counted here and not yet sent to Redis
    sending: int = 0  # hits on their way to Redis (each is added once: by the flusher or by a hit)

    def total(self) -> int:
        return self.counted + self.pending + self.sending


class Limits:
    """The write limits of one service: per token by role, per address without a token."""

    def __init__(self, redis_url: str, by_role: dict[str, str], anonymous: str):
        self.storage = storage_from_string(f"batched+{redis_url}", key_prefix=KEY_PREFIX,
                                           socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
        self._window = FixedWindowRateLimiter(self.storage)
        self._by_role: dict[str, RateLimitItem] = {peran: parse(limit) for peran, limit in by_role.items()}
        self._anonymous = parse(anonymous)

    def allow(self, peran: str | None, token_id: str | None, address: str | None) -> bool:
        """Count one write; False when it is over the limit. A genuine token counts under its
        id; anything else under the client's address."""
        if token_id is not None:
            limit, who = self._by_role.get(peran, self._anonymous), f"token:{token_id}"
        else:
            limit, who = self._anonymous, f"addr:{address}"
        try:
            return self._window.hit(limit, who)
        except Exception:  # noqa: BLE001 - a broken counter must not refuse a KPPS
            log.exception("rate limit not counted")
            return True


def limit_of(key: str) -> int | None:
    """The limit a counter's key is for: `limits` builds keys as
    `<namespace>/<identifiers...>/<amount>/<multiples>/<granularity>` (RateLimitItem.key_for);
    None when a key does not look like that (its hits then always go to Redis)."""
    parts = key.rsplit("/", 3)
    return int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else None


class BatchedRedisStorage(RedisStorage):
    """The `limits` Redis storage, counting the local share in memory (fixed windows only)."""

    STORAGE_SCHEME = ["batched+redis", "batched+rediss", "batched+redis+unix"]

    def __init__(self, uri: str, **options):
        super().__init__(uri.removeprefix("batched+"), **options)
        self._add_all = self.get_connection().register_script(FLUSH_SCRIPT)
        self._windows: dict[str, _Window] = {}
        self._unsent: set[str] = set()  # keys with pending hits
        self._swept = time.time()
        self._lock = threading.Lock()
        self._due = threading.Event()
        self._flusher: tuple[int, threading.Thread] | None = None
        self._quiet_until = 0.0  # Redis failed: count alone until then

    # --- what the fixed-window strategy calls ------------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._lock:
            window = self._window(key, expiry, now)
            if window.total() + amount <= window.share or now < self._quiet_until:
                window.pending += amount
                self._unsent.add(key)
                self._ensure_flusher()
                return window.total()
            adding, window.pending = window.pending + amount, 0
            window.sending += adding
        try:
            total = int(self.lua_incr_expire([self.prefixed_key(key)], [expiry, adding]))
        except redis.RedisError as exc:
            self._failed(exc)
            with self._lock:
                self._unsend(key, window, adding)
                return window.total()
        with self._lock:
            window.sending -= adding
            window.counted = max(window.counted, total)
            return max(total, window.total())

    def get(self, key: str) -> int:
        with self._lock:
            window = self._windows.get(key)
            return window.total() if window and window.ends > time.time() else 0

    def get_expiry(self, key: str) -> float:
        with self._lock:
            window = self._windows.get(key)
            return window.ends if window else time.time()

    def clear(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)
        super().clear(key)

    def reset(self) -> int | None:
        with self._lock:
            self._windows.clear()
        return super().reset()

    # --- the process's side ------------------------------------------------------------

    def _window(self, key: str, expiry: int, now: float) -> _Window:
        window = self._windows.get(key)
        if window is None or window.ends <= now:
            limit = limit_of(key)
            window = self._windows[key] = _Window(ends=now + expiry, expiry=expiry,
                                                  share=limit // LOCAL_SHARE if limit else 0)
        return window

    def _ensure_flusher(self) -> None:
        """Wake the flusher, starting it first in a new process (gunicorn forks workers)."""
        if self._flusher is None or self._flusher[0] != os.getpid() or not self._flusher[1].is_alive():
            thread = threading.Thread(target=self._run, name="rekap-ratelimit", daemon=True)
            self._flusher = (os.getpid(), thread)
            thread.start()
        if not self._due.is_set():
            self._due.set()

    def _run(self) -> None:
        while True:
            self._due.wait()
            self._due.clear()
            self.flush()
            time.sleep(FLUSH_SECONDS)  # let the next hits gather

    def flush(self) -> None:
        """Add every pending count to Redis in one call, and learn the totals back."""
        now = time.time()
        with self._lock:
            if now - self._swept > SWEEP_SECONDS:
                self._windows = {k: w for k, w in self._windows.items() if w.ends > now}
                self._swept = now
            if now < self._quiet_until:
                self._due.set()  # try again after the pause
                return
            batch = []
            for key in self._unsent:
                window = self._windows.get(key)
                if window is None or window.ends <= now or not window.pending:
                    continue  # a closed window's hits no longer matter
                batch.append((key, window, window.pending))
                window.sending += window.pending
                window.pending = 0
            self._unsent.clear()
        if not batch:
            return
        keys, args = [], []
        for key, window, pending in batch:
            keys.append(self.prefixed_key(key))
            args += (window.expiry, pending)
        try:
            answers = self._add_all(keys=keys, args=args)
        except redis.RedisError as exc:
            self._failed(exc)
            with self._lock:
                for key, window, pending in batch:
                    self._unsend(key, window, pending)
            self._due.set()
            return
        now = time.time()
        with self._lock:
            for (_, window, pending), total, ttl_ms in zip(batch, answers[::2], answers[1::2]):
                window.sending -= pending
                window.counted = max(window.counted, int(total))
                if ttl_ms > 0:  # the window as Redis keeps it, shared by every process
                    window.ends = now + ttl_ms / 1000

    def _unsend(self, key: str, window: _Window, hits: int) -> None:
        """Hits that did not reach Redis are pending again (with the lock held)."""
        window.sending -= hits
        window.pending += hits
        self._unsent.add(key)

    def _failed(self, exc: Exception) -> None:
        if time.time() >= self._quiet_until:
            log.warning("rate-limit counters not added to Redis (counting in this process for now): %s", exc)
        self._quiet_until = time.time() + RETRY_SECONDS
