"""guard.new_request_id: the client's id when sane, else a new one unique across
threads and across forked workers, in the same shape as before (32 hex digits)."""

import os
import re
from concurrent.futures import ThreadPoolExecutor

from shared import guard


def test_a_sane_client_id_is_kept_and_anything_else_replaced():
    assert guard.new_request_id("kpps-hp-123") == "kpps-hp-123"
    for given in ("", "<script>", "x" * 65, "a b"):
        assert re.fullmatch(r"[0-9a-f]{32}", guard.new_request_id(given))


def test_new_ids_are_unique_across_threads():
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: guard.new_request_id(""), range(20_000)))
    assert len(set(ids)) == len(ids)


def test_a_forked_worker_draws_its_own_prefix():
    parent = guard.new_request_id("")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, guard.new_request_id("").encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    assert re.fullmatch(r"[0-9a-f]{32}", child) and child[:16] != parent[:16]
