"""The wake thread turns a burst of submissions into one publish per tick, and never
leaves the last submission of a burst without one."""

import time

from services.intake import wake


def test_a_burst_costs_a_publish_per_tick_and_the_last_one_is_published(monkeypatch):
    published = []  # when each publish ran (the outbox itself is tested with real Redis elsewhere)
    monkeypatch.setattr(wake.outbox, "publish", lambda: published.append(time.monotonic()))
    started = time.monotonic()
    for _ in range(300):  # a submission every millisecond for 0.3 s
        wake.soon()
        time.sleep(0.001)
    last = time.monotonic()
    time.sleep(wake.TICK_SECONDS * 5)
    ticks = (last - started) / wake.TICK_SECONDS
    assert 1 <= len(published) <= ticks + 2, f"{len(published)} publishes for {ticks:.0f} ticks"
    assert published[-1] >= last - wake.TICK_SECONDS, "the burst's last submissions were not published"
