"""CPU time by part of the stack, from /proc: where a submission's cost goes.

Throughput on a small shared machine swings with whatever else runs; the CPU
seconds each part spends per accepted submission swing far less, so they are
what tells whether a change made the path cheaper. Linux only.
"""

import os
from pathlib import Path

from sqlalchemy import text

from shared.db.engine import engine

_TICKS = os.sysconf("SC_CLK_TCK")


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
    seen = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        # fields[1] is the parent pid; 11 and 12 are user and system time in ticks
        seen[int(entry.name)] = (int(fields[1]), _part(cmdline), (int(fields[11]) + int(fields[12])) / _TICKS)
    return {pid: (part, seconds) for pid, (_, part, seconds) in seen.items() if part and _ours(pid, seen)}


def _ours(pid: int, seen: dict) -> bool:
    me = os.getpid()
    while pid in seen and pid > 1:
        pid = seen[pid][0]
        if pid == me:
            return True
    return False


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
