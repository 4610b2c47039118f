"""How many connections each gunicorn worker holds, in memory the master shares
with its workers, so that a new connection goes to the worker with fewest.

Without it, whichever worker wakes first accepts: when many clients connect at
once (the load test's 64, or a desa's phones coming back after an outage) one
worker takes half of them and answers each of them four times slower than its
neighbours answer theirs, for as long as the connections are kept alive.

A row per worker: its pid, its connections, and when it last reported, in
milliseconds of the system-wide monotonic clock. The master reserves a row
when it creates a worker (before the fork); the worker fills it in and keeps
it current. A row is free again once its worker is gone, or nobody reported
to it for a minute (the worker never started). Each field has one writer at a
time and is one aligned 8-byte word, so no lock: a reader sees a count a
moment old at worst, and a balance a moment off costs nothing.
"""

import mmap
import os
import time

ROWS = 64  # far more workers than a host runs; a worker without a row simply accepts
RESERVED = -1  # the pid of a row the master reserved for a worker not started yet
STALE_MS = 3_000  # a live worker reports at least once a second (gunicorn's loop wakes that often)
FREE_MS = 60_000  # a row silent this long is given to a new worker
_PID, _CONNS, _BEAT = range(3)


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


def _alive(pid: int) -> bool:
    """Is the process there? (In the master its dead workers are reaped before it forks new ones.)"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # there, but someone else's: the pid was reused, and the row's beat will age out
    return True


class Loads:
    """The shared table. Create it in the master, before forking workers."""

    def __init__(self, rows: int = ROWS):
        self._memory = mmap.mmap(-1, rows * 3 * 8)  # anonymous and shared across fork
        self._cells = memoryview(self._memory).cast("q")
        self.rows = rows

    def _get(self, row: int, field: int) -> int:
        return self._cells[row * 3 + field]

    def _set(self, row: int, field: int, value: int) -> None:
        self._cells[row * 3 + field] = value

    def reserve(self) -> int | None:
        """A free row for a worker about to be forked (in the master), or None if all are taken."""
        now = _now_ms()
        for row in range(self.rows):
            pid = self._get(row, _PID)
            if pid == 0 or now - self._get(row, _BEAT) > FREE_MS or (pid > 0 and not _alive(pid)):
                self._set(row, _CONNS, 0)
                self._set(row, _BEAT, now)
                self._set(row, _PID, RESERVED)
                return row
        return None

    def report(self, row: int, connections: int) -> None:
        """The worker's count, now (in the worker: it also says the worker is alive)."""
        self._set(row, _CONNS, connections)
        self._set(row, _BEAT, _now_ms())
        self._set(row, _PID, os.getpid())

    def release(self, row: int) -> None:
        """The worker is leaving."""
        self._set(row, _PID, 0)

    def fewest(self, row: int | None) -> int | None:
        """The fewest connections any other live worker holds, or None if there is none."""
        cells, now = self._cells.tolist(), _now_ms()  # one copy, then plain lists: cheap enough per accept
        live = [count for other, (pid, count, beat) in enumerate(zip(cells[0::3], cells[1::3], cells[2::3]))
                if other != row and pid > 0 and now - beat <= STALE_MS]
        return min(live, default=None)
