"""GroupCommit: items that arrive while a batch runs are run together in the next;
every thread gets its own item's outcome, whatever the batch did."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.intake.groupcommit import ATTEMPTS, RETRY, GroupCommit

pytestmark = pytest.mark.timeout(60)  # a lead never passed on hangs its threads: fail, not wait


class Recorder:
    """A run that records its batches; the first batch can be held until released."""

    def __init__(self, outcome=lambda item: ("stored", item)):
        self.batches: list[list] = []
        self.outcome = outcome
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()

    def __call__(self, items):
        self.batches.append(list(items))
        self.entered.set()
        self.hold.wait(10)
        return [self.outcome(item) for item in items]


def _waiting(group: GroupCommit, n: int) -> None:
    """Until n items wait for the next batch."""
    deadline = time.monotonic() + 10
    while len(group._waiting) < n:
        assert time.monotonic() < deadline, "the items never queued"
        time.sleep(0.001)


def test_one_item_alone_is_a_batch_of_one():
    run = Recorder()
    group = GroupCommit(run)
    assert group.submit("a", key=1) == ("stored", "a")
    assert group.submit("b", key=1) == ("stored", "b")
    assert run.batches == [["a"], ["b"]]


def test_items_arriving_during_a_batch_share_the_next_and_each_gets_its_own_outcome():
    run = Recorder()
    group = GroupCommit(run)
    run.hold.clear()
    with ThreadPoolExecutor(9) as pool:
        first = pool.submit(group.submit, 0, 0)
        assert run.entered.wait(10)
        rest = [pool.submit(group.submit, i, i) for i in range(1, 9)]
        _waiting(group, 8)
        run.hold.set()
        assert first.result(10) == ("stored", 0)
        assert [f.result(10) for f in rest] == [("stored", i) for i in range(1, 9)]
    assert run.batches[0] == [0]
    assert sorted(run.batches[1]) == list(range(1, 9))  # one batch for all who waited


def test_two_items_of_one_key_never_share_a_batch():
    run = Recorder()
    group = GroupCommit(run)
    run.hold.clear()
    with ThreadPoolExecutor(7) as pool:
        first = pool.submit(group.submit, "x0", "x")
        assert run.entered.wait(10)
        rest = [pool.submit(group.submit, f"{key}{i}", key) for i, key in enumerate("xxyyzz", 1)]
        _waiting(group, 6)
        run.hold.set()
        assert first.result(10) == ("stored", "x0")
        assert sorted(f.result(10)[1] for f in rest) == ["x1", "x2", "y3", "y4", "z5", "z6"]
    for batch in run.batches:
        assert len({item[0] for item in batch}) == len(batch), run.batches
    assert sum(len(b) for b in run.batches) == 7


def test_an_item_told_to_retry_goes_again_and_gives_up_after_the_attempts():
    tries: dict[str, int] = {}

    def outcome(item):
        tries[item] = tries.get(item, 0) + 1
        if item == "twin" and tries[item] == 1:
            return RETRY  # it met a concurrent writer: the next batch stores it
        if item == "never":
            return RETRY
        return ("stored", item)

    group = GroupCommit(Recorder(outcome))
    assert group.submit("twin", key=1) == ("stored", "twin")
    assert tries["twin"] == 2
    with pytest.raises(RuntimeError, match="after retries"):
        group.submit("never", key=2)
    assert tries["never"] == ATTEMPTS


def test_an_exception_outcome_is_raised_in_its_own_thread_only():
    bad = ValueError("refused")
    run = Recorder(lambda item: bad if item == "bad" else ("stored", item))
    group = GroupCommit(run)
    run.hold.clear()
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(group.submit, "first", 0)
        assert run.entered.wait(10)
        good = pool.submit(group.submit, "good", 1)
        worse = pool.submit(group.submit, "bad", 2)
        _waiting(group, 2)
        run.hold.set()
        assert first.result(10) == ("stored", "first")
        assert good.result(10) == ("stored", "good")
        with pytest.raises(ValueError, match="refused"):
            worse.result(10)


def test_a_failing_run_fails_its_whole_batch_and_the_group_goes_on():
    failing = threading.Event()
    failing.set()

    def run(items):
        if failing.is_set():
            raise ConnectionError("database away")
        return [("stored", item) for item in items]

    group = GroupCommit(run)
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(group.submit, i, i) for i in range(4)]
        for future in futures:
            with pytest.raises(ConnectionError):
                future.result(10)
    failing.clear()
    assert group.submit("after", key=9) == ("stored", "after")
    assert not group._running and not group._waiting


def test_many_threads_all_answered_exactly_once():
    calls = []
    lock = threading.Lock()

    def run(items):
        with lock:
            calls.extend(items)
        time.sleep(0.001)
        return [("stored", item) for item in items]

    group = GroupCommit(run)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: group.submit(i, i % 5), range(400)))
    assert results == [("stored", i) for i in range(400)]
    assert sorted(calls) == list(range(400))
    assert not group._running and not group._waiting
