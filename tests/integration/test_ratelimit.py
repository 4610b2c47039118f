"""Rate-limit counters (shared.ratelimit) against a real Redis: the local share
is counted without a round trip and still reaches Redis, the processes
together refuse a flood on Redis's numbers, and a Redis outage neither
refuses a KPPS nor loses a count."""

import uuid

import redis

from shared import embedded, ratelimit, settings
from tests.integration.conftest import eventually

LIMIT = 40  # a process's local share: 10
ROLES = {"kpps": f"{LIMIT}/minute"}


def _limits(url: str) -> ratelimit.Limits:
    return ratelimit.Limits(url, ROLES, "60/minute")


def _counter(token_id: str) -> str:
    """A token's counter, as `limits` names it (and the storage keeps it)."""
    return f"LIMITER/token:{token_id}/{LIMIT}/1/minute"


def _key(token_id: str) -> str:
    """The Redis key of a token's counter: the counter under our prefix."""
    return f"{ratelimit.KEY_PREFIX}:{_counter(token_id)}"


def _count(url: str, token_id: str) -> int:
    return int(redis.Redis.from_url(url).get(_key(token_id)) or 0)


def test_the_key_names_the_limit_it_counts_for():
    from limits import parse

    assert ratelimit.limit_of(parse("30/minute").key_for("token:abc")) == 30  # fails if `limits` changes its keys
    assert ratelimit.limit_of("no-limit-here") is None


def test_hits_within_the_local_share_reach_redis_without_a_round_trip_each(services):
    url, token = settings.load().redis_url, uuid.uuid4().hex
    limits = _limits(url)
    assert all(limits.allow("kpps", token, None) for _ in range(7))
    eventually(lambda: _count(url, token) == 7, 5.0)  # added by the flusher, in the background
    ttl = redis.Redis.from_url(url).ttl(_key(token))
    assert 0 < ttl <= 60  # the window closes in Redis too


def test_processes_together_refuse_exactly_at_the_limit_once_their_shares_are_known(services):
    url, token = settings.load().redis_url, uuid.uuid4().hex
    one, two = _limits(url), _limits(url)  # two gunicorn workers, each with its own counters
    assert all(one.allow("kpps", token, None) for _ in range(10))
    assert all(two.allow("kpps", token, None) for _ in range(10))
    one.storage.flush()
    two.storage.flush()
    admitted = [lim.allow("kpps", token, None) for _ in range(20) for lim in (one, two)]
    assert admitted == [True] * 20 + [False] * 20  # 20 local + 20 more = the limit, then refused
    eventually(lambda: _count(url, token) == 60, 5.0)  # refused hits count too, as in `limits`


def test_one_flush_adds_every_counter_and_learns_each_total_back(services):
    # With a KPPS token per TPS, a flush carries hundreds of counters in one script call:
    # each must land on its own key, and each total come back to its own window.
    url = settings.load().redis_url
    one, two = _limits(url), _limits(url)
    hits = {uuid.uuid4().hex: 1 + i % 5 for i in range(300)}
    for token, n in hits.items():
        for _ in range(n):
            one.allow("kpps", token, None)
    one.storage.flush()  # its flusher thread may be sending some of them: wait for all
    eventually(lambda: all(_count(url, token) == n for token, n in hits.items()), 5.0)
    client = redis.Redis.from_url(url)
    assert all(0 < client.ttl(_key(token)) <= 60 for token in hits)
    for token in hits:
        two.allow("kpps", token, None)
    two.storage.flush()
    # Learnt back from Redis by whichever flush sent each hit of two's: one's hits too.
    eventually(lambda: all(two.storage.get(_counter(token)) == n + 1 for token, n in hits.items()), 5.0)
    assert all(_count(url, token) == n + 1 for token, n in hits.items())


def test_a_flood_through_many_processes_passes_the_limit_by_at_most_their_shares(services):
    url, token = settings.load().redis_url, uuid.uuid4().hex
    workers = [_limits(url) for _ in range(4)]
    admitted = sum(lim.allow("kpps", token, None) for _ in range(50) for lim in workers)
    assert LIMIT <= admitted <= LIMIT + 3 * (LIMIT // ratelimit.LOCAL_SHARE)
    eventually(lambda: _count(url, token) == 200, 5.0)  # every hit reached Redis once


def test_without_redis_each_process_counts_alone_and_adds_its_counts_when_redis_is_back(tmp_path):
    port = embedded.free_port()
    url, token = f"redis://127.0.0.1:{port}/0", uuid.uuid4().hex
    limits = _limits(url)  # Redis is not there (yet)
    statuses = [limits.allow("kpps", token, None) for _ in range(LIMIT + 5)]
    assert statuses == [True] * LIMIT + [False] * 5  # a KPPS is not refused for Redis's sake; a flood still is
    server = embedded.Redis(tmp_path / "redis", port).start()
    try:
        limits.allow("kpps", token, None)  # the next hit wakes the flusher, which tries again
        eventually(lambda: _count(url, token) == LIMIT + 6, 5.0)
    finally:
        server.stop()
