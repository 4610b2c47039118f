"""`rekap loadtest`: drive the intake API like a whole kabupaten of KPPS officers
and report (api.md, "Load test report").

    rekap loadtest --host http://127.0.0.1:8001 [--export http://127.0.0.1:8002]
                   [--token T] [--wilayah 3517] [--tps N] [--users 16] ...

Every TPS under `--wilayah` (default: Kabupaten Jombang) submits its C.Hasil
once; shares of them also send an invalid form first, retry with the same
Idempotency-Key, or are corrected later by the PPK (plan.py). Then it polls
the export API until the kabupaten total is exact, runs `rekap verify` and
prints one JSON document on stdout (progress goes to stderr). Exit 1 on any
unexpected answer, a recap that never becomes exact, or `"exact": false`.

Needs `aiohttp` (the `load` extra). With DATABASE_URL it issues its own
kpu_kab token (revoked at the end), checks against every current version in
the database and runs `rekap verify`; without it, pass `--token`, and the
report says that `exact` could not be decided.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click

DEFAULT_WILAYAH = "3517"


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return round(sorted_values[rank - 1], 1)


def _export_from(host: str) -> str:
    parts = urlsplit(host)
    port = os.environ.get("EXPORT_PORT", "8002")
    return urlunsplit((parts.scheme, f"{parts.hostname}:{port}", "", "", ""))


class _Database:
    """The database, if DATABASE_URL names one that answers."""

    def __init__(self):
        self.engine = None
        self.problem = None
        if not os.environ.get("DATABASE_URL"):
            self.problem = "DATABASE_URL is not set"
            return
        try:
            from sqlalchemy import text

            from shared.db.engine import engine

            made = engine()
            with made.connect() as conn:
                conn.execute(text("SELECT 1 FROM hasil_kini LIMIT 1"))
            self.engine = made
        except Exception as exc:  # noqa: BLE001 - any failure: say so in the report
            self.problem = f"database unreachable: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


def _tps(db: _Database, kontes: str, wilayah: list[str]) -> list[str]:
    if db.engine is not None:
        from sqlalchemy import text

        with db.engine.connect() as conn:
            return conn.execute(text("""
                SELECT t.kode FROM wilayah t
                WHERE t.tingkat = 'tps' AND t.kode LIKE ANY(:p) AND EXISTS (
                    SELECT 1 FROM kontes_wilayah kw WHERE kw.kontes = :k
                    AND (kw.kode_wilayah = '0' OR t.kode LIKE kw.kode_wilayah || '%'))
                ORDER BY t.kode"""), {"p": [w + "%" for w in wilayah], "k": kontes}).scalars().all()
    from shared.db.seed import DEFAULT_WILAYAH as CSV, read_wilayah

    return sorted(kode for kode, tingkat, *_ in read_wilayah(CSV)
                  if tingkat == "tps" and any(kode.startswith(w) for w in wilayah))


def _paslon(db: _Database, kontes: str, export: str, kabupaten: str) -> list[int]:
    if db.engine is not None:
        from sqlalchemy import text

        with db.engine.connect() as conn:
            return conn.execute(text("SELECT nomor_urut FROM paslon WHERE kontes = :k ORDER BY 1"),
                                {"k": kontes}).scalars().all()
    import requests

    resp = requests.get(f"{export}/api/v1/rekap/{kontes}/{kabupaten}", timeout=30)
    resp.raise_for_status()
    return sorted(int(n) for n in resp.json()["suara"])


def run(*, host: str, export: str | None = None, token: str | None = None, kontes: str = "ppwp",
        wilayah: tuple[str, ...] = (DEFAULT_WILAYAH,), tps: int | None = None, users: int = 16,
        rate: float = 0.0, warmup: int | None = None, retry: float = 0.1, invalid: float = 0.03, correction: float = 0.05,
        flagged: float = 0.01, seed: int = 2024, recap_timeout: float = 60.0, verify_timeout: float = 60.0,
        max_p99_ms: float | None = None, max_lag_ms: float | None = None,
        progress: bool = True) -> tuple[dict, bool]:
    """The whole load test; (report, passed)."""
    from shared.domain import wilayah as w
    from services.loadtest import check, client, plan

    def say(message: str) -> None:
        if progress:
            print(f"[loadtest] {message}", file=sys.stderr, flush=True)

    host = host.rstrip("/")
    export = (export or _export_from(host)).rstrip("/")
    wilayah = tuple(wilayah) or (DEFAULT_WILAYAH,)
    for kode in wilayah:
        if w.tingkat(kode) not in ("kabupaten", "kecamatan", "desa", "tps"):
            raise click.UsageError(f"--wilayah {kode}: a kabupaten or a region inside one")
    kabupaten = {kode[:4] for kode in wilayah}
    if len(kabupaten) != 1:
        raise click.UsageError("every --wilayah must lie in one kabupaten")
    kabupaten = kabupaten.pop()

    db = _Database()
    run_id = uuid.uuid4().hex[:12]
    issued = None
    if token is None:
        if db.engine is None:
            raise click.UsageError(f"no --token, and none can be issued here ({db.problem})")
        from shared import auth

        with db.engine.begin() as conn:
            token, issued = auth.issue(conn, "kpu_kab", kabupaten, auth.parse_ttl("1d"),
                                       subjek=f"rekap loadtest {run_id}", oleh="rekap loadtest")
    try:
        codes = _tps(db, kontes, list(wilayah))
        paslon = _paslon(db, kontes, export, kabupaten)
        work = plan.rencana(codes, paslon, run_id=run_id, seed=seed, kontes=kontes, retry=retry,
                            invalid=invalid, correction=correction, flagged=flagged, limit=tps)
        planned = plan.ringkas(work)
        baseline = None
        if db.engine is None:
            import requests

            resp = requests.get(f"{export}/api/v1/rekap/{kontes}/{kabupaten}", timeout=30)
            resp.raise_for_status()
            baseline = check.Baseline(resp.json(), paslon)
        say(f"{len(work)} TPS of {','.join(wilayah)} ({kontes}), {sum(planned.values())} requests planned "
            f"{planned}; {users} users{f', {rate:g}/s' if rate else ''}; intake {host}, export {export}; "
            f"database: {'yes' if db.engine is not None else db.problem}")

        warmup = 4 * users if warmup is None else warmup
        cpu0 = time.process_time()
        stats = client.run(work, host, token, users=users, rate=rate, seed=seed, progress=progress, warmup=warmup)
        client_cpu = time.process_time() - cpu0
        elapsed = max(stats.finished - stats.started, 1e-9)
        say(f"sent {stats.requests} requests in {elapsed:.1f} s ({stats.requests / elapsed:.0f}/s), "
            f"errors {stats.errors}; waiting for the recap of {kabupaten}")

        # Recap lag: from the last accepted submission to the kabupaten total being exact.
        if db.engine is not None:
            basis = "database"

            def expected():
                with db.engine.connect() as conn:
                    return check.expected_from_db(conn, kontes, kabupaten)
        else:
            basis = "export-baseline"
            fixed = baseline.expected(stats.final, stats.versi, host, kontes, token)

            def expected():
                return fixed
        since = stats.last_accepted if stats.last_accepted is not None else time.monotonic()
        lag_ms, recap_diffs = check.wait_exact(export, kontes, kabupaten, paslon, expected, since, recap_timeout)

        # `rekap verify`, and the versions this run stored.
        exact = None
        verify_info: dict = {"ran": False, "reason": db.problem}
        versions = None
        if db.engine is not None:
            diffs, waited = check.verify_settled(db.engine, verify_timeout)
            exact = not diffs
            verify_info = {"ran": True, "differences": len(diffs), "sample": [str(d) for d in diffs[:10]],
                           "waited_s": round(waited, 2)}
            versions = check.versions_made(db.engine, run_id)
    finally:
        if issued is not None:
            from shared import auth

            with db.engine.begin() as conn:
                auth.revoke(conn, issued.id, oleh="rekap loadtest")

    lat = sorted(stats.latencies_ms)
    status_counts: dict[str, dict[str, int]] = {}
    for (jenis, code), count in sorted(stats.status_counts.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        status_counts.setdefault(jenis, {})[str(code)] = count
    failures = []
    if stats.errors:
        failures.append(f"{stats.errors} unexpected errors")
    if versions is not None and versions != stats.accepted:
        failures.append(f"{versions} versions stored for {stats.accepted} accepted submissions")
    if lag_ms is None:
        failures.append(f"the recap of {kabupaten} was not exact {recap_timeout:g} s after the last submission")
    if exact is False:
        failures.append("rekap verify found differences")
    p99 = _percentile(lat, 0.99)
    if max_p99_ms is not None and (p99 is None or p99 > max_p99_ms):
        failures.append(f"p99 {p99} ms above {max_p99_ms:g} ms")
    if max_lag_ms is not None and (lag_ms is None or lag_ms > max_lag_ms):
        failures.append(f"recap lag {lag_ms} ms above {max_lag_ms:g} ms")
    report = {
        "host": host, "export": export, "kontes": kontes, "kabupaten": kabupaten, "wilayah": list(wilayah),
        "tps": len(work), "users": users, "rate": rate or None, "warmup_requests": warmup, "seed": seed,
        "run_id": run_id,
        "submissions": stats.requests,
        "accepted": stats.accepted,
        "rejected_expected": stats.rejected_expected,
        "errors": stats.errors,
        "replayed": stats.replayed,
        "corrections": stats.corrections,
        "flagged": stats.flagged,
        "planned": planned,
        "status_counts": status_counts,
        "duration_s": round(elapsed, 3),
        "rps": round(stats.requests / elapsed, 1),
        "client_cpu_ms_per_request": round(1000 * client_cpu / max(stats.requests, 1), 3),
        "latency_ms": {"p50": _percentile(lat, 0.50), "p95": _percentile(lat, 0.95), "p99": p99,
                       "max": round(lat[-1], 1) if lat else None,
                       "mean": round(sum(lat) / len(lat), 1) if lat else None},
        "recap_lag_ms": None if lag_ms is None else round(lag_ms, 1),
        "recap_basis": basis,
        "recap_differences": recap_diffs[:10],
        "versions_created": versions,
        "exact": exact,
        "verify": verify_info,
        "error_samples": stats.error_samples,
        "failures": failures,
        "ok": not failures,
    }
    return report, not failures


@click.command("loadtest")
@click.option("--host", required=True, help="intake base URL, e.g. http://127.0.0.1:8001")
@click.option("--export", "export", default=None,
              help="export base URL (default: the --host address on port $EXPORT_PORT, else 8002)")
@click.option("--token", default=None, envvar="LOADTEST_TOKEN",
              help="a kpu_kab token for the kabupaten (default: issue one, needs DATABASE_URL and SECRET_KEY)")
@click.option("--kontes", default="ppwp", show_default=True)
@click.option("--wilayah", multiple=True, default=(DEFAULT_WILAYAH,), show_default=True,
              help="region(s) whose TPS submit, inside one kabupaten; repeatable")
@click.option("--tps", "tps", type=click.IntRange(min=1), default=None,
              help="only N TPS, drawn by the seed (default: every TPS of --wilayah)")
@click.option("--users", type=click.IntRange(min=1), default=16, show_default=True,
              help="concurrent clients (connections)")
@click.option("--rate", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="cap on requests per second (0: as fast as the intake answers)")
@click.option("--warmup", type=click.IntRange(min=0), default=None,
              help="GET /readyz this many times before the clock starts (default: 4 x --users)")
@click.option("--retry", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="share of TPS that resend with the same Idempotency-Key (must replay)")
@click.option("--invalid", type=click.FloatRange(0, 1), default=0.03, show_default=True,
              help="share of TPS that first send an invalid form (422), then the good one")
@click.option("--koreksi", "correction", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="share of TPS corrected later by the PPK (/koreksi)")
@click.option("--flagged", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="share of TPS whose form breaks an identity (accepted, perlu_periksa)")
@click.option("--seed", type=int, default=2024, show_default=True)
@click.option("--recap-timeout", type=float, default=60.0, show_default=True,
              help="seconds to wait for the kabupaten recap to become exact")
@click.option("--verify-timeout", type=float, default=60.0, show_default=True,
              help="seconds to keep re-running verify while rollups drain")
@click.option("--max-p99-ms", type=float, default=None, help="fail when p99 latency is above this")
@click.option("--max-lag-ms", type=float, default=None, help="fail when the recap lag is above this")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the report to this file")
@click.option("--quiet", is_flag=True, help="no progress on stderr")
def command(out_path, quiet, **options):
    """Drive the intake like a kabupaten of KPPS officers; print the JSON report."""
    if importlib.util.find_spec("aiohttp") is None:
        raise click.ClickException("rekap loadtest needs aiohttp: pip install 'rekap[load]'")
    report, ok = run(progress=not quiet, **options)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if out_path:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(text + "\n", encoding="utf-8")
    click.echo(text)
    sys.exit(0 if ok else 1)
