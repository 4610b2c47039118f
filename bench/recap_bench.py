"""Benchmark of the recap (services/recap): lag, throughput, coalescing, national scale.

    python -m bench --only recap [--quick]
    python bench/recap_bench.py [--quick]

On its own embedded PostgreSQL and Redis (a temporary directory; the
environment's DATABASE_URL/REDIS_URL are not touched) and the real stack
(services.stack: gunicorn intake, Celery workers and beat as processes):

1. Jombang burst: every one of the 3,858 TPS of Kabupaten Jombang submits
   through the intake HTTP API (16 clients). `recap_lag_s` is the time from
   the last accepted submission to the kabupaten row equal to the sum of the
   accepted bodies (computed here, client side); `rollups_per_1000` counts
   regions recomputed (the workers' Prometheus counter) per 1,000 accepted
   submissions, beside the naive figure (every submission recomputing its
   desa, kecamatan and kabupaten) and the floor (each region once).
2. National: the 2024 region list (820,161 TPS; quick: one provinsi's TPS
   only) with one synthetic result per TPS written straight into hasil,
   hasil_kini and the outbox (one row per TPS, as the intake writes them),
   then the workers started and timed to exact national totals. Baselines in
   the same run, on the same rows: one plain SQL GROUP BY of every result
   into the national totals, and `rekap verify`'s one-query aggregate of every
   level. CPU seconds of the workers and of PostgreSQL are reported beside
   the wall clock (the machine is shared; CPU is the steadier figure).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cpu import CpuMeter  # noqa: E402 - run as a script too (mk/recap.mk): after the path

NATIONAL_CSV = Path(os.environ.get("REKAP_SHARED_DATA", ROOT.parent / "shared" / "data")) / "wilayah-indonesia-2024.csv.gz"
QUICK_PROVINSI = "51"  # Bali: about 12,000 TPS
KONTES = "ppwp"
GOALS = {"jombang_recap_lag_s": 2.0, "national_rollup_s": 600.0}

# One synthetic, consistent C.Hasil per TPS, generated inside PostgreSQL (Python
# would spend minutes on 820,161 bodies). About 2% are flagged perlu_periksa.
GENERATE = ["""
INSERT INTO hasil (kontes, kode_tps, versi, jenis, status, angka, isian, temuan, oleh)
SELECT 'ppwp', kode, 1, 'kirim', status, angka, '{}'::jsonb, '[]'::jsonb, 'bench'
FROM (
  SELECT kode, CASE WHEN random() < 0.02 THEN 'perlu_periksa' ELSE 'diterima' END AS status,
    jsonb_build_object(
      'pemilih.dpt.l', dl, 'pemilih.dpt.p', dp,
      'pengguna.dpt.l', ul, 'pengguna.dpt.p', up, 'pengguna.dptb.l', bl, 'pengguna.dptb.p', bp,
      'pengguna.dpk.l', kl, 'pengguna.dpk.p', kp, 'disabilitas.l', xl, 'disabilitas.p', xp,
      'surat_suara.diterima', diterima, 'surat_suara.digunakan', total, 'surat_suara.dikembalikan', 0,
      'surat_suara.sisa', diterima - total,
      'suara.1', s1, 'suara.2', sah - s1 - s3, 'suara.3', s3,
      'suara_sah', sah, 'suara_tidak_sah', ts, 'suara_total', total) AS angka
  FROM (
    SELECT *, (sah * (0.20 + 0.10 * r4))::int AS s1, (sah * (0.10 + 0.10 * r5))::int AS s3
    FROM (
      SELECT *, total - ts AS sah, ((dl + dp) * 102 + 99) / 100 AS diterima
      FROM (
        SELECT *, floor(r3 * (total / 40 + 1))::int AS ts
        FROM (
          SELECT *, ul + up + bl + bp + kl + kp AS total
          FROM (
            SELECT kode, dl, dp, (dl * (0.70 + 0.22 * r1))::int AS ul, (dp * (0.72 + 0.22 * r2))::int AS up,
                   floor(random() * 3)::int AS bl, floor(random() * 3)::int AS bp,
                   floor(random() * 2)::int AS kl, floor(random() * 2)::int AS kp,
                   floor(random() * 3)::int AS xl, floor(random() * 3)::int AS xp, r3, r4, r5
            FROM (SELECT kode, 90 + floor(random() * 56)::int AS dl, 90 + floor(random() * 61)::int AS dp,
                         random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5
                  FROM wilayah WHERE tingkat = 'tps' AND kode LIKE %(prefix)s) a) b) c) d) e) f) g
""", """
INSERT INTO hasil_kini (kontes, kode_tps, kode_desa, hasil_id, versi, status, angka)
SELECT kontes, kode_tps, left(kode_tps, 10), id, versi, status, angka FROM hasil WHERE oleh = 'bench'
""", """
INSERT INTO outbox (kontes, kode, kedalaman) SELECT kontes, kode_desa, 4 FROM hasil_kini ORDER BY kode_tps
"""]

# The baseline: every current result summed into the national totals by one GROUP BY.
PLAIN_GROUP_BY = """
SELECT e.key, sum(e.value::bigint) AS n
FROM hasil_kini k CROSS JOIN LATERAL jsonb_each_text(k.angka) AS e
WHERE k.kontes = 'ppwp' GROUP BY e.key"""


def log(msg: str) -> None:
    print(f"[recap bench] {msg}", file=sys.stderr, flush=True)


def rollups_counted(metrics_dir: Path) -> dict[str, float]:
    """Regions recomputed so far, per level, summed over every worker process."""
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(metrics_dir))
    out: Counter = Counter()
    for family in registry.collect():
        if family.name == "rekap_rollup_wilayah":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    out[sample.labels["tingkat"]] += sample.value
    return dict(out)


@contextlib.contextmanager
def own_services(directory: Path):
    """Embedded PostgreSQL and Redis for this benchmark alone; the environment restored after."""
    from shared import embedded
    from shared.db.engine import dispose

    pg = embedded.Postgres(directory / "postgres").start()
    rd = embedded.Redis(directory / "redis").start()
    try:
        with embedded.environment(DATABASE_URL=pg.url, REDIS_URL=rd.url):
            yield pg, rd
    finally:
        dispose()
        rd.stop()
        pg.stop()


def use_database(pg, name: str) -> None:
    """Point this process (and stacks started after) at database `name` of the bench server."""
    import psycopg

    from shared.db.engine import dispose

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{pg.port}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    dispose()
    os.environ["DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/{name}"


# --- 1. the Jombang burst ------------------------------------------------------

def _wait_exact(kode: str, masuk: int, angka: dict, timeout: float) -> float:
    """Monotonic time at which the stored recap of `kode` equals the expected sums."""
    from sqlalchemy import text

    from shared.db.engine import engine

    deadline = time.monotonic() + timeout
    with engine().connect() as conn:
        while time.monotonic() < deadline:
            row = conn.execute(text("SELECT tps_masuk, angka FROM rekap WHERE kontes = :k AND kode = :w"),
                               {"k": KONTES, "w": kode}).one()
            conn.rollback()
            if row.tps_masuk == masuk and {k: int(v) for k, v in row.angka.items()} == angka:
                return time.monotonic()
            time.sleep(0.005)
    raise TimeoutError(f"the recap of {kode} was not exact within {timeout} s")


def jombang_burst(workers: int = 1) -> dict:
    from sqlalchemy import text

    from services.demo import rusak_for, submit_all
    from services.recap.verify import verify
    from services.stack import Stack
    from shared import auth, sintetis
    from shared.db import migrate, seed
    from shared.db.engine import engine
    from shared.domain import hasil

    migrate.upgrade()
    seed.seed()
    with engine().begin() as conn:
        tps = conn.execute(text("SELECT kode FROM wilayah WHERE tingkat = 'tps' AND kode LIKE '3517%' ORDER BY kode")
                           ).scalars().all()
        raw_token, _ = auth.issue(conn, "kpu_kab", "3517", auth.parse_ttl("1d"), subjek="recap bench")
    bodies = {kode: sintetis.hasil(kode, [1, 2, 3], rusak=rusak_for(i)) for i, kode in enumerate(tps)}
    with Stack(workers=workers, beat=True) as stack:
        pids = {"workers": [p.pid for n, p in stack.processes.items() if n.startswith("worker")]}
        meter = CpuMeter({f"worker{i}": pid for i, pid in enumerate(pids["workers"])}).start()
        before = rollups_counted(stack.metrics_dir)
        started = time.monotonic()
        outcome, last_accepted = submit_all(stack.intake_url, raw_token, bodies, 16, progress=False)
        submit_s = time.monotonic() - started
        accepted = [k for k, s in outcome.items() if s == 201]
        expected: Counter = Counter()
        for kode in accepted:
            expected.update(hasil.ratakan(bodies[kode]))
        exact_at = _wait_exact("3517", len(accepted), dict(expected), timeout=120)
        time.sleep(0.5)  # let the counters settle (parents above the kabupaten, idle passes)
        after = rollups_counted(stack.metrics_dir)
        cpu = meter.stop()
    with engine().connect() as conn:
        diffs = verify(conn, KONTES)
    by_level = {t: int(after.get(t, 0) - before.get(t, 0)) for t in sorted(set(after) | set(before))}
    total = sum(by_level.values())
    desa = len({k[:10] for k in accepted})
    per_1000 = lambda n: round(1000 * n / max(1, len(accepted)), 1)  # noqa: E731
    return {
        "tps": len(tps), "accepted": len(accepted), "statuses": dict(Counter(outcome.values())),
        "submit_s": round(submit_s, 2), "submit_rps": round(len(tps) / submit_s, 1),
        "recap_lag_s": round(exact_at - last_accepted, 3), "goal_recap_lag_s": GOALS["jombang_recap_lag_s"],
        "rollups": total, "rollups_by_level": by_level,
        "rollups_per_1000": per_1000(total),
        "naive_rollups_per_1000": per_1000(3 * len(accepted)),  # desa + kecamatan + kabupaten each time
        "floor_rollups_per_1000": per_1000(desa + len({k[:6] for k in accepted}) + 1),  # each region once
        "worker_cpu_s": round(sum(cpu.values()), 1),
        "verify_differences": len(diffs),
    }


# --- 2. national scale ---------------------------------------------------------

def national(pg, quick: bool, workers: int = 1) -> dict:
    import psycopg
    from sqlalchemy import text

    from services.recap.verify import verify
    from services.stack import Stack
    from shared.db import migrate, seed
    from shared.db.engine import engine

    use_database(pg, "nasional")
    migrate.upgrade()
    t = time.monotonic()
    seed.seed(NATIONAL_CSV)
    seed_s = time.monotonic() - t
    prefix = QUICK_PROVINSI + "%" if quick else "%"
    t = time.monotonic()
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{pg.port}/nasional") as conn:
        for i, statement in enumerate(GENERATE):
            conn.execute(statement, {"prefix": prefix} if i == 0 else None)
        conn.execute("ANALYZE")
    generate_s = time.monotonic() - t
    with engine().connect() as conn:
        n_tps = conn.execute(text("SELECT count(*) FROM hasil_kini")).scalar_one()
    log(f"national: {n_tps} results written in {generate_s:.0f} s (seed {seed_s:.0f} s); rolling up")

    postmaster = pg.process.pid
    with Stack(workers=workers, beat=True) as stack:
        roots = {n: p.pid for n, p in stack.processes.items() if n.startswith("worker")}
        meter = CpuMeter({**roots, "postgres": postmaster}).start()
        started = time.monotonic()  # the workers are up: the backlog is theirs from here
        deadline = started + 1800
        with engine().connect() as conn:
            while time.monotonic() < deadline:
                masuk = conn.execute(text("SELECT tps_masuk FROM rekap WHERE kontes = :k AND kode = '0'"),
                                     {"k": KONTES}).scalar_one()
                waiting = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
                conn.rollback()
                if masuk == n_tps and waiting == 0:
                    break
                time.sleep(0.2)
        rollup_s = time.monotonic() - started
        cpu = meter.stop()
        rollups = rollups_counted(stack.metrics_dir)
    meter = CpuMeter({"postgres": postmaster}).start()
    t = time.monotonic()
    with engine().connect() as conn:
        plain = {r.key: int(r.n) for r in conn.execute(text(PLAIN_GROUP_BY))}
        stored = conn.execute(text("SELECT angka FROM rekap WHERE kontes = :k AND kode = '0'"),
                              {"k": KONTES}).scalar_one()
    plain_s = time.monotonic() - t
    plain_cpu = meter.stop()["postgres"]
    exact = {k: int(v) for k, v in stored.items()} == plain
    meter = CpuMeter({"postgres": postmaster}).start()
    t = time.monotonic()
    with engine().connect() as conn:
        diffs = verify(conn, KONTES)
    verify_s = time.monotonic() - t
    verify_cpu = meter.stop()["postgres"]
    return {
        "scope": f"provinsi {QUICK_PROVINSI}" if quick else "nasional", "tps_results": n_tps,
        "seed_s": round(seed_s, 1), "generate_s": round(generate_s, 1),
        "rollup_to_exact_s": round(rollup_s, 1), "goal_rollup_s": None if quick else GOALS["national_rollup_s"],
        "rollup_results_per_s": round(n_tps / rollup_s),
        "rollup_cpu_s": cpu, "rollups_by_level": {k: int(v) for k, v in rollups.items()},
        "baseline_plain_group_by_s": round(plain_s, 1), "baseline_plain_group_by_results_per_s": round(n_tps / plain_s),
        "baseline_plain_group_by_postgres_cpu_s": plain_cpu,
        "baseline_verify_s": round(verify_s, 1), "baseline_verify_postgres_cpu_s": verify_cpu,
        "rollup_vs_verify": round(rollup_s / verify_s, 2),
        "national_totals_exact": exact, "verify_differences": len(diffs),
    }


def run(quick: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="rekap-recap-bench-") as tmp, own_services(Path(tmp)) as (pg, _):
        log("Jombang burst through the intake API")
        result = {"jombang": jombang_burst()}
        log(json.dumps(result["jombang"]))
        result["national"] = national(pg, quick)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/recap_bench.py")
    parser.add_argument("--quick", action="store_true", help="one provinsi instead of the whole country")
    args = parser.parse_args()
    print(json.dumps(run(args.quick), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
