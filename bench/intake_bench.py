"""Intake benchmark: accepted C.Hasil per second through the full path, and
p50/p99 latency at 64 concurrent clients, beside a bare Flask JSON endpoint
under the same gunicorn settings, measured in the same run.

Beside the rates, the CPU milliseconds each part of the stack spent per
accepted submission (bench.cpu): steadier than rates on a noisy machine.

The full path: token check, marshmallow, every rule, one SQL statement that
stores the version, moves the pointer and queues the rollup, the Redis wake-up,
with the recap worker and beat running beside it. The load comes from wrk
(C, so the client costs little of the machine's two cores). After the run
the recap must be exact (`rekap verify`).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import text

from shared import auth, embedded, sintetis
from shared.db import migrate, seed
from shared.db.engine import engine
from services.recap.rollup import drained
from services.recap.verify import verify
from services.stack import Stack

from bench import cpu

HERE = Path(__file__).parent
CONNECTIONS = 64
# KPPS tokens per TPS, each sending in turn. A KPPS sends a handful of forms, but the
# bench cycles through Jombang's 3,858 TPS every few seconds: with one token each, every
# token went past its process's local share of the limit (30 a minute / 4) within 20 s,
# and from then on each submission counted in Redis, as only a flood does. With six,
# a token sends about five a minute at 2,000/s.
KPPS_TOKENS = 6


def _wrk(url: str, seconds: int, bodies: Path) -> dict:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does this)")
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s",
                          "-s", str(HERE / "wrk" / "submit.lua"), url, "--", str(bodies), uuid.uuid4().hex],
                         capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    result = json.loads(line[len("WRK_JSON "):])
    result["rps"] = round(result["created"] / result["seconds"], 1)
    return result


def _bare(seconds: int, bodies: Path) -> dict:
    port = embedded.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:services.intake.gunicorn_conf",
                             "-b", f"127.0.0.1:{port}", "bench.bare_app:create_app()"],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.post(f"{url}/api/v1/hasil/ppwp/x", json={}, timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        # Warmed up as ours is: by then every worker is listening (the first one answers
        # while the others still load the app, and would take all 64 connections).
        _wrk(url, 3, bodies)
        before = cpu.snapshot()
        result = _wrk(url, seconds, bodies)
        result["cpu_ms_per_accepted"] = cpu.per_item(before, cpu.snapshot(), result["created"])
        return result
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)


def _bodies(path: Path, sends: list[tuple[str, str]]) -> Path:
    """wrk's bodies file: a C.Hasil per (TPS, the token it is sent with), in that order."""
    path.write_text("".join(f"{k} {t} {json.dumps(sintetis.hasil(k, [1, 2, 3]))}\n" for k, t in sends))
    return path


def _versions() -> int:
    with engine().connect() as conn:
        return conn.execute(text("SELECT count(*) FROM hasil")).scalar_one()


def _ours(url: str, seconds: int, bodies: Path) -> dict:
    _wrk(url, 3, bodies)  # warm up: connection pools, caches
    drained(120)
    stored = _versions()
    before = cpu.snapshot()
    result = _wrk(url, seconds, bodies)
    # Each 201 a new version, no replay (a few more: requests still in flight when wrk stopped).
    result["new_versions"] = _versions() - stored
    result["recap_drained_s_after_load"] = round(drained(120), 2)
    result["cpu_ms_per_accepted"] = cpu.per_item(before, cpu.snapshot(), result["created"])
    return result


def run(quick: bool = False) -> dict:
    seconds = 10 if quick else 30
    with tempfile.TemporaryDirectory(prefix="rekap-bench-") as tmp, embedded.services(Path(tmp) / "svc"):
        migrate.upgrade()
        seed.seed()
        with engine().begin() as conn:
            tps = conn.execute(text("SELECT kode FROM wilayah WHERE tingkat = 'tps' ORDER BY kode")).scalars().all()
            # As on election night, each TPS sends with its own KPPS tokens ...
            kpps = [(k, auth.issue(conn, "kpps", k, auth.parse_ttl("1h"), subjek="bench")[0])
                    for _ in range(KPPS_TOKENS) for k in tps]
            # ... and, beside that, one kabupaten token sends them all: a flood from one
            # token, which the rate limit counts in Redis once past its local share.
            kab, _ = auth.issue(conn, "kpu_kab", "3517", auth.parse_ttl("1h"), subjek="bench")
        bodies = _bodies(Path(tmp) / "kpps.txt", kpps)
        one_token = _bodies(Path(tmp) / "kab.txt", [(k, kab) for k in tps])
        bare = _bare(seconds, bodies)
        with Stack(workers=1, beat=True, log_dir=Path(tmp) / "log") as stack:
            ours = _ours(stack.intake_url, seconds, bodies)
            flood = _ours(stack.intake_url, seconds, one_token)
            with engine().connect() as conn:
                diffs = verify(conn, "ppwp")
    return {
        "connections": CONNECTIONS, "seconds": seconds,
        "intake": ours, "intake_one_token": flood, "bare_flask": bare,
        "ratio_vs_bare": round(ours["rps"] / bare["rps"], 3) if bare["rps"] else None,
        # The same comparison by CPU per request (the machine is CPU bound): it holds still
        # while the machine's speed drifts, which moves both rates together.
        "cpu_ratio_vs_bare": round(bare["cpu_ms_per_accepted"]["total"] / ours["cpu_ms_per_accepted"]["total"], 3)
        if ours["cpu_ms_per_accepted"].get("total") else None,
        "exact": not diffs,
        "goals": {"accepted_per_s": 1000, "ratio_vs_bare": 0.35, "p99_ms": 150},
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
