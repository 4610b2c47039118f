"""Workbook files under REKAP_DATA_DIR/ekspor, one per (kontes, region, data version).

A file is written beside its final name and renamed into place, so a reader
sees a whole file or none. A Redis lock per key lets one process build it
while the others wait (without Redis, each builds its own: the same bytes
land under the same name). Only the newest few files of a region are kept;
a file being streamed stays readable after its removal (POSIX).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Callable

from shared import outbox, settings

log = logging.getLogger(__name__)

KEEP = 2  # files kept per (kontes, region): the newest, and the one before it
LOCK_SECONDS = 60  # a lock outlives its holder by at most this; renewed while building
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
          "return redis.call('expire', KEYS[1], ARGV[2]) end return 0")
_RELEASE = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('del', KEYS[1]) end return 0")


def folder() -> Path:
    return settings.load().data_dir / "ekspor"


def path(kontes: str, kode: str, kunci: str) -> Path:
    return folder() / f"rekap-{kontes}-{kode}-{kunci}.xlsx"


def store(target: Path, write: Callable[[str], None]) -> None:
    """Write a file with `write(temporary path)`, then move it to `target` and prune."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tulis-", suffix=".xlsx", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    prune(target)


def prune(newest: Path) -> None:
    """Drop older files of the same (kontes, region), keeping the newest KEEP."""
    stem = newest.name.rsplit("-", 1)[0] + "-"
    files = []
    for f in newest.parent.glob(stem + "*.xlsx"):
        if f.name.rsplit("-", 1)[0] + "-" != stem:
            continue  # another region whose code starts alike
        with contextlib.suppress(FileNotFoundError):
            files.append((f.stat().st_mtime, f))
    files.sort(reverse=True)
    for _, f in files[KEEP:]:
        if f != newest:
            with contextlib.suppress(FileNotFoundError):
                f.unlink()


@contextlib.contextmanager
def lock(kunci: str):
    """Yields True when this process holds the build lock of `kunci` (or Redis is
    unreachable: then build anyway), False when another process holds it. The lock
    is renewed while held, so a dead builder frees it within LOCK_SECONDS."""
    name = f"rekap:ekspor:kunci:{kunci}"
    token = uuid.uuid4().hex
    redis = outbox.client()
    try:
        held = bool(redis.set(name, token, nx=True, ex=LOCK_SECONDS))
    except Exception as exc:  # noqa: BLE001 - no Redis: no lock, still correct
        log.warning("export lock unavailable (%s); building without it", exc)
        yield True
        return
    if not held:
        yield False
        return
    done = threading.Event()

    def renew():
        while not done.wait(LOCK_SECONDS / 3):
            with contextlib.suppress(Exception):
                redis.eval(_RENEW, 1, name, token, LOCK_SECONDS)

    renewer = threading.Thread(target=renew, name="rekap-ekspor-lock", daemon=True)
    renewer.start()
    try:
        yield True
    finally:
        done.set()
        with contextlib.suppress(Exception):
            redis.eval(_RELEASE, 1, name, token)
