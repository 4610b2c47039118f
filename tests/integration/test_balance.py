"""Connections spread over the intake's gunicorn workers (shared.balance, in
shared/gunicorn_worker.py): a burst of kept-alive clients, like the load
test's 64 or a desa's phones coming back after an outage, leaves each worker
its share, not most of them on whichever worker woke first. Read from the
kernel's own table of sockets, by the worker that holds each one."""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from shared.embedded import free_port
from tests.integration.conftest import eventually

WORKERS = 4
CLIENTS = 64
SHARE = CLIENTS // WORKERS
# Counts are read a moment late in a burst: a worker may pass its share by a few.
LEEWAY = 4


@pytest.fixture
def intake(services):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:services.intake.gunicorn_conf",
                             "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "services.intake.app:create_app()"],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: all(_listening(port, pid) for pid in _workers(proc.pid))
                   and len(_workers(proc.pid)) == WORKERS, 20, "gunicorn's workers are not listening")
        yield port, proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def _workers(master: int) -> list[int]:
    kids = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in kids]


def _links(pid: int) -> dict[int, str]:
    """What the process's file descriptors point at: fd -> link (socket:[inode], anon_inode:[eventpoll], ...)."""
    out = {}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            out[int(fd.name)] = os.readlink(fd)
        except FileNotFoundError:  # closed meanwhile
            continue
    return out


def _sockets(pid: int) -> dict[str, int]:
    """The process's sockets: inode -> file descriptor."""
    return {link[len("socket:["):-1]: fd for fd, link in _links(pid).items() if link.startswith("socket:[")}


def _tcp(port: int, state: str) -> set[str]:
    """Inodes of the sockets on the port in a state of /proc/net/tcp (01 established, 0A listening)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            inodes.add(fields[9])
    return inodes


def _listening(port: int, pid: int) -> bool:
    """Does the worker wait for new connections, i.e. is the listening socket in its epoll set?
    (A worker still loading the app is not, nor one holding more than its share.)"""
    sockets = _sockets(pid)
    listener = next((sockets[inode] for inode in _tcp(port, "0A") if inode in sockets), None)
    for fd, link in _links(pid).items():
        if link == "anon_inode:[eventpoll]":
            try:
                watched = re.findall(r"^tfd:\s+(\d+)", (Path(f"/proc/{pid}/fdinfo") / str(fd)).read_text(), re.M)
            except FileNotFoundError:
                continue
            if str(listener) in watched:
                return True
    return False


def _held(port: int, master: int) -> dict[int, int]:
    """Established connections to the port, by the worker holding them."""
    established = _tcp(port, "01")
    return {pid: len(established & set(_sockets(pid))) for pid in _workers(master)}


def _connect(port: int, n: int) -> list[socket.socket]:
    """n clients connecting at once, each with one request answered and the connection kept."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
    for s in socks:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: rekap\r\n\r\n")
    for s in socks:
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
    return socks


def test_a_burst_of_clients_is_shared_out(intake):
    port, master = intake
    socks = _connect(port, CLIENTS)
    try:
        held = _held(port, master)
        assert sum(held.values()) == CLIENTS
        assert all(SHARE - LEEWAY <= n <= SHARE + LEEWAY for n in held.values()), held
    finally:
        for s in socks:
            s.close()


def test_a_restarted_worker_gets_the_new_clients(intake):
    port, master = intake
    socks = _connect(port, CLIENTS)
    try:
        before = set(_workers(master))
        victim = before.pop()
        held_by_victim = _held(port, master)[victim]
        os.kill(victim, signal.SIGKILL)  # its clients' connections close with it
        eventually(lambda: len(set(_workers(master)) - {victim}) == WORKERS, 20, "no worker in its place")
        (newcomer,) = set(_workers(master)) - before - {victim}
        held = _held(port, master)
        assert held[newcomer] == 0 and sum(held.values()) == CLIENTS - held_by_victim, held
        # The others hold a share each and stop listening (by their next turn, within
        # a second) until the newcomer has as many.
        eventually(lambda: _listening(port, newcomer), 20, "the new worker is not listening")
        eventually(lambda: not any(_listening(port, pid) for pid in held if pid != newcomer), 20,
                   "the workers holding their share still listen")
        socks += _connect(port, SHARE)
        held = _held(port, master)
        assert held[newcomer] >= SHARE - LEEWAY, held
    finally:
        for s in socks:
            s.close()
