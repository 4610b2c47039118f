"""CPU time of processes, from /proc: where a benchmark's cost goes.

Throughput on a small shared machine swings with whatever else runs; the CPU
seconds each part spends per accepted submission swing far less, so they are
what tells whether a change made the path cheaper. Two views of one reading
of /proc: by part of the stack (`snapshot`, `per_item`: the intake bench) and
by process tree (`CpuMeter`: the recap bench). Linux only.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from shared.db.engine import engine

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Proc:
    parent: int
    cmdline: str
    own: float  # CPU seconds, user + system
    reaped: float  # CPU seconds of its children that have exited


def processes() -> dict[int, Proc]:
    """Every process now, by pid."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        # fields[1] is the parent pid; 11 and 12 are user and system time, 13 and 14 the reaped children's
        out[int(entry.name)] = Proc(int(fields[1]), cmdline, (int(fields[11]) + int(fields[12])) / _TICKS,
                                    (int(fields[13]) + int(fields[14])) / _TICKS)
    return out


def tree(pid: int, procs: dict[int, Proc]) -> list[int]:
    """A process and all its descendants."""
    children: dict[int, list[int]] = {}
    for child, proc in procs.items():
        children.setdefault(proc.parent, []).append(child)
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


# --- by part of the stack ---------------------------------------------------------

def _part(cmdline: str) -> str | None:
    if "services.intake.app" in cmdline:
        return "intake"
    if "bench.bare_app" in cmdline:
        return "bare_flask"
    if "celery" in cmdline:
        return "recap_beat" if " beat" in cmdline else "recap_worker"
    if cmdline.startswith("postgres"):
        return "postgres"
    if "redis-server" in cmdline:
        return "redis"
    return None


def snapshot() -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process of the stack this process started, by pid
    (other stacks on the machine, a test run's say, are not counted)."""
    procs = processes()
    ours = set(tree(os.getpid(), procs))
    return {pid: (part, proc.own) for pid, proc in procs.items()
            if pid in ours and (part := _part(proc.cmdline))}


def _intake_backends() -> set[int]:
    """PostgreSQL backends serving intake's writes (they carry application_name rekap-intake)."""
    with engine().connect() as conn:
        return set(conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'rekap-intake'")).scalars())


def per_item(before: dict, after: dict, items: int) -> dict[str, float]:
    """Milliseconds of CPU per item, by part; postgres split into intake's writes and the rest."""
    writes = _intake_backends()
    spent: dict[str, float] = {}
    for pid, (part, seconds) in after.items():
        if part == "postgres":
            part = "postgres_intake" if pid in writes else "postgres_recap_and_other"
        spent[part] = spent.get(part, 0.0) + seconds - before.get(pid, (part, 0.0))[1]
    result = {part: round(1000 * s / items, 3) for part, s in sorted(spent.items())} if items else {}
    result["total"] = round(sum(result.values()), 3)
    return result


# --- by process tree ----------------------------------------------------------------

class CpuMeter:
    """CPU seconds used by process trees (each root and its descendants, with the children
    they reaped) between start() and stop()."""

    def __init__(self, roots: dict[str, int]):
        self.roots = roots
        self.before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        procs = processes()
        return {name: sum(procs[p].own + procs[p].reaped for p in tree(pid, procs) if p in procs)
                for name, pid in self.roots.items()}

    def start(self) -> "CpuMeter":
        self.before = self._now()
        return self

    def stop(self) -> dict[str, float]:
        after = self._now()
        return {name: round(after[name] - self.before.get(name, 0.0), 1) for name in after}
