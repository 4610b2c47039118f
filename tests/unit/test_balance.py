"""The shared table of connections per gunicorn worker (shared.balance), in one
process: rows reserved, reported to, aged out and released."""

import os

from shared import balance


def test_rows_report_and_the_fewest_is_among_the_others():
    loads = balance.Loads(rows=4)
    rows = [loads.reserve() for _ in range(3)]
    assert rows == [0, 1, 2]
    assert loads.fewest(0) is None  # reserved rows are not workers yet
    for row, count in zip(rows, (7, 3, 5)):
        loads.report(row, count)
    assert loads.fewest(0) == 3
    assert loads.fewest(1) == 5  # its own count does not count
    loads.release(1)
    assert loads.fewest(0) == 5


def test_a_full_table_leaves_the_worker_without_a_row():
    loads = balance.Loads(rows=2)
    assert [loads.reserve(), loads.reserve(), loads.reserve()] == [0, 1, None]


def test_a_row_gone_silent_no_longer_counts_and_is_given_again(monkeypatch):
    loads = balance.Loads(rows=2)
    first, second = loads.reserve(), loads.reserve()
    loads.report(first, 0)
    loads.report(second, 9)
    now = balance._now_ms()
    monkeypatch.setattr(balance, "_now_ms", lambda: now + balance.STALE_MS + 1)
    assert loads.fewest(second) is None  # a worker that stopped reporting takes no connections
    assert loads.reserve() is None  # but its row is not free yet: it may only be slow
    monkeypatch.setattr(balance, "_now_ms", lambda: now + balance.FREE_MS + 1)
    assert loads.reserve() == first


def test_the_row_of_a_process_that_is_gone_is_free_at_once():
    loads = balance.Loads(rows=1)
    row = loads.reserve()
    pid = os.fork()
    if pid == 0:  # a worker: reports, then dies without releasing its row
        loads.report(row, 12)
        os._exit(0)
    os.waitpid(pid, 0)
    assert loads.fewest(None) == 12  # the child wrote into the parent's table: shared across fork
    assert loads.reserve() == row
