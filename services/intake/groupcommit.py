"""Group commit: the submissions that arrive while one batch is being stored are
stored together in the next, in one statement and one commit.

On election night a C.Hasil costs PostgreSQL more to start, plan and commit
than to insert, and many arrive at once. No thread of its own does the
grouping: the first request thread to arrive while no batch is running
leads, stores the batch waiting (its own item among them), answers the
others and hands the lead to the oldest item still waiting. At low load a
batch is one item and nobody waits for anybody; under load batches grow by
themselves, and each costs the database less per item.

What `run` must do: given the items, return one outcome per item, in order.
An outcome may be RETRY (the item met a concurrent writer and should go
again) or an exception instance (raised in that item's thread). If `run`
itself raises, every item of the batch gets that exception.

Two items with the same `key` (a TPS) never share a batch: the later one
waits for the next.
"""

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any

RETRY = object()
ATTEMPTS = 5


class _Slot:
    __slots__ = ("item", "key", "ready", "outcome", "attempts")

    def __init__(self, item: Any, key: Hashable):
        self.item = item
        self.key = key
        # Released once: when answered, or when told to lead. A lock held from the start
        # is the cheapest one-shot signal (an Event builds a Condition for every item).
        self.ready = threading.Lock()
        self.ready.acquire()
        self.outcome: Any = RETRY
        self.attempts = 0

    def answered(self) -> bool:
        return self.outcome is not RETRY


class GroupCommit:
    def __init__(self, run: Callable[[Sequence[Any]], Sequence[Any]], limit: int = 64):
        self._run = run
        self.limit = limit
        self._lock = threading.Lock()
        self._waiting: list[_Slot] = []
        self._running = False

    def submit(self, item: Any, key: Hashable) -> Any:
        """The item's outcome, once stored (in whichever batch stored it)."""
        slot = _Slot(item, key)
        with self._lock:
            self._waiting.append(slot)
            leading = not self._running
            self._running = True
        if not leading:
            slot.ready.acquire()
        if not slot.answered():  # told to lead
            self._lead(slot)
        if isinstance(slot.outcome, BaseException):
            raise slot.outcome
        return slot.outcome

    def _take(self) -> list[_Slot]:
        """The next batch: waiting items in order, one per key. Under the lock."""
        batch, keys, later = [], set(), []
        for slot in self._waiting:
            if len(batch) < self.limit and slot.key not in keys:
                keys.add(slot.key)
                batch.append(slot)
            else:
                later.append(slot)
        self._waiting = later
        return batch

    def _lead(self, own: _Slot) -> None:
        """Store batches until our own item is answered, then pass the lead on."""
        while True:
            with self._lock:
                batch = self._take()
            try:
                outcomes = list(self._run([slot.item for slot in batch]))
                if len(outcomes) != len(batch):
                    raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} items")
            except BaseException as exc:  # noqa: BLE001 - raised in every thread of the batch, ours too
                outcomes = [exc] * len(batch)
            again = []
            for slot, outcome in zip(batch, outcomes):
                slot.attempts += 1
                if outcome is RETRY and slot.attempts < ATTEMPTS:
                    again.append(slot)
                    continue
                slot.outcome = RuntimeError("stored nothing after retries") if outcome is RETRY else outcome
                if slot is not own:
                    slot.ready.release()
            with self._lock:
                self._waiting[:0] = again  # first in the next batch: they are the oldest
                if not own.answered():
                    continue
                if self._waiting:
                    self._waiting[0].ready.release()  # unanswered: it leads
                else:
                    self._running = False
                return
