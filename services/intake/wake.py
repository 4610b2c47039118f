"""Waking the recap without making a KPPS wait for Redis.

A request that stored a version only raises a flag; one thread per intake
process turns the flags raised meanwhile into one `outbox.publish()`. The
request never waits on the broker, and a burst of submissions in a process
costs one Redis call per tick, not one each. If the process dies before
the tick, its outbox rows are in PostgreSQL and the reconciler wakes a
worker within seconds.
"""

import threading
import time

from shared import outbox

TICK_SECONDS = 0.1  # a rollup's lag; shorter ticks cost the requests CPU (shared/ratelimit.py, FLUSH_SECONDS)

_pending = threading.Event()
_started = threading.Lock()
_thread: threading.Thread | None = None


def _run() -> None:
    while True:
        _pending.wait()
        _pending.clear()
        outbox.publish()
        # Let the next few submissions gather: a sleep, not a wait on the flag, which the
        # next submission would end at once (a publish per submission, not per tick).
        time.sleep(TICK_SECONDS)


def soon() -> None:
    """Ask for a rollup of what this process stored."""
    global _thread
    if _thread is None or not _thread.is_alive():  # first use, or after a fork
        with _started:
            if _thread is None or not _thread.is_alive():
                _thread = threading.Thread(target=_run, name="rekap-wake", daemon=True)
                _thread.start()
    # Reading the flag is cheaper than set() (a lock and a notify) and, in a burst, it is
    # mostly up already: the tick that clears it publishes after this request's commit.
    if not _pending.is_set():
        _pending.set()
