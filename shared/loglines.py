"""Log lines written in batches rather than one write(2) each.

The web services log one access line per request. Written at once, each line
is a system call in the request thread, which gives up the GIL for it and then
waits to get it back behind the other threads: in interleaved rounds of the
intake, writing the lines in batches took 5.5% less CPU per C.Hasil
(docs/reliability.md, "Access log").

`Batched` keeps the formatted lines in memory and writes them within
FLUSH_SECONDS, in one write per PIPE_BUF bytes of whole lines: a write of at
most that size to a pipe is never interleaved with another process's (the
other gunicorn workers and the master share the same stderr), so a line is
never cut. A line of WARNING or above is written at once, with everything
before it. Everything is written at exit (logging.shutdown flushes every
handler) and before a fork. A process killed outright (SIGKILL) loses at
most the last FLUSH_SECONDS of access lines; what it stored is in the
database and its audit trail, not in these lines.
"""

import logging
import os
import select
import threading

FLUSH_SECONDS = 0.5
CHUNK = select.PIPE_BUF  # bytes a pipe writes whole (4,096 on Linux)


class Batched(logging.Handler):
    """A handler writing its lines to a file descriptor (stderr) in batches."""

    def __init__(self, fd: int = 2):
        super().__init__()
        self.fd = fd
        self._lines: list[bytes] = []
        self._timer: threading.Timer | None = None
        # Written before a fork, so that a child never writes its parent's lines again.
        os.register_at_fork(before=self.flush, after_in_child=self._forget)

    def emit(self, record: logging.LogRecord) -> None:  # with self.lock held (Handler.handle)
        try:
            # As stderr itself would: a lone surrogate (a client's "\ud800") escaped, not refused.
            self._lines.append((self.format(record) + "\n").encode("utf-8", "backslashreplace"))
        except Exception:  # noqa: BLE001 - as logging.StreamHandler: a bad record must not fail a request
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING:
            self.flush()
        elif self._timer is None:
            self._timer = threading.Timer(FLUSH_SECONDS, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        with self.lock:
            lines, self._lines = self._lines, []
            if self._timer is not None:
                self._timer.cancel()  # harmless when it is the timer itself that flushes
                self._timer = None
            for chunk in chunks(lines, CHUNK):
                self._write(chunk)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError:
            pass  # stderr is gone: there is nowhere left to say so

    def _forget(self) -> None:
        self._lines, self._timer = [], None


def chunks(lines: list[bytes], size: int) -> list[bytes]:
    """The lines joined into as few pieces of at most `size` bytes as keep every line
    whole (a longer line is a piece of its own)."""
    pieces, current, length = [], [], 0
    for line in lines:
        if current and length + len(line) > size:
            pieces.append(b"".join(current))
            current, length = [], 0
        current.append(line)
        length += len(line)
    if current:
        pieces.append(b"".join(current))
    return pieces
