"""shared.loglines: access lines written in batches, whole, and never lost at exit."""

import logging
import os
import subprocess
import sys
import time

from shared import loglines


def _handler() -> tuple[loglines.Batched, int]:
    read, write = os.pipe()
    os.set_blocking(read, False)
    handler = loglines.Batched(write)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler, read


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 1 << 20)
    except BlockingIOError:
        return b""


def _record(message: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("rekap.access", level, __file__, 1, message, None, None)


def test_lines_wait_for_the_timer_and_then_come_out_whole_and_in_order():
    handler, fd = _handler()
    for i in range(3):
        handler.handle(_record(f"line {i}"))
    assert _read(fd) == b""  # not one write per line
    deadline = time.monotonic() + loglines.FLUSH_SECONDS + 5
    out = b""
    while out.count(b"\n") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
        out += _read(fd)
    assert out == b"line 0\nline 1\nline 2\n"


def test_a_warning_is_written_at_once_with_the_lines_before_it():
    handler, fd = _handler()
    handler.handle(_record("request"))
    handler.handle(_record("trouble", logging.WARNING))
    assert _read(fd) == b"request\ntrouble\n"


def test_a_line_that_utf8_cannot_encode_is_written_escaped_as_stderr_would():
    handler, fd = _handler()
    handler.handle(_record("path /hasil/\ud800 ok", logging.WARNING))
    assert _read(fd) == b"path /hasil/\\ud800 ok\n"


def test_chunks_keep_every_line_whole_within_the_size():
    lines = [b"a" * 30 + b"\n", b"b" * 30 + b"\n", b"c" * 90 + b"\n", b"d\n"]
    pieces = loglines.chunks(lines, 64)
    assert b"".join(pieces) == b"".join(lines)
    assert pieces == [lines[0] + lines[1], lines[2], lines[3]]  # the long line alone
    assert loglines.chunks([], 64) == []


def test_lines_still_waiting_are_written_when_the_process_exits():
    # A process logging through the handler and exiting at once, long before the timer.
    code = ("import logging, sys; from shared import loglines; h = loglines.Batched(1); "
            "logging.getLogger().addHandler(h); logging.getLogger().setLevel('INFO'); "
            "[logging.getLogger('rekap.access').info('line %d', i) for i in range(500)]; sys.exit(0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, timeout=60).stdout
    assert out.decode().splitlines() == [f"line {i}" for i in range(500)]


def test_a_forked_child_never_writes_its_parents_lines_again():
    handler, fd = _handler()
    handler.handle(_record("parent's"))
    pid = os.fork()
    if pid == 0:  # the child: one line of its own, written as it exits
        handler.handle(_record("child's"))
        handler.flush()
        os._exit(0)
    os.waitpid(pid, 0)
    handler.flush()
    assert sorted(_read(fd).splitlines()) == [b"child's", b"parent's"]
