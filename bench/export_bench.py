"""The real export path, measured: a region's workbook read from PostgreSQL and
written (services.export.build: the data-version key, the recap JSON, TPS from
a server-side cursor, the D.Hasil writer), beside plain openpyxl write-only
writing exactly the same cell values, in the same process and run.

    python bench/export_bench.py              # Kabupaten Jombang (3,858 TPS)
    python bench/export_bench.py --jatim      # also Jawa Timur (120,666 TPS), from
                                              # ../shared/data/wilayah-indonesia-2024.csv.gz

Each region runs in a fresh process on its own throwaway PostgreSQL
(shared.embedded): seeded with the region list, a synthetic C.Hasil for about
97% of the TPS (2% of them perlu_periksa, with a finding), and the recap rows
summed by one SQL aggregate. The baseline's cells are the values of our own
file, read back before the clock starts, so both write the very same cells.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

INDONESIA = ROOT.parent / "shared" / "data" / "wilayah-indonesia-2024.csv.gz"
PASLON = [1, 2, 3]
TEMUAN = [{"kode": "SUARA_SAH_TIDAK_SESUAI", "fields": ["suara_sah"],
           "pesan": "Jumlah suara sah tidak sama dengan jumlah suara paslon",
           "message": "Valid votes differ from the sum of the paslon votes"}]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _rss_mb(field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or at its peak (VmHWM), of this process alone: unlike
    ru_maxrss, the peak is not inherited from the parent across fork and exec."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _region_csv(kode: str, out: Path) -> Path:
    """The region list of one provinsi, cut from the national file."""
    with gzip.open(INDONESIA, "rt", encoding="utf-8", newline="") as src, open(out, "w", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, reader.fieldnames)
        writer.writeheader()
        for row in reader:
            if row["kode"].startswith(kode):
                writer.writerow(row)
    return out


def load(kode: str) -> dict:
    """Results for ~97% of the region's TPS, straight into the tables, and the recap summed."""
    from sqlalchemy import text

    from shared import sintetis
    from shared.db.engine import engine
    from shared.domain.hasil import ratakan

    with engine().connect() as conn:
        tps = conn.execute(text("SELECT kode FROM wilayah WHERE tingkat = 'tps' AND kode LIKE :p ORDER BY kode"),
                           {"p": kode + "%"}).scalars().all()
    raw = engine().raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        cur.execute("""CREATE TEMP TABLE muat (kode_tps text, status text, angka jsonb, temuan jsonb)""")
        n = 0
        with cur.copy("COPY muat FROM STDIN") as copy:
            for i, kode_tps in enumerate(tps):
                if i % 33 == 5:
                    continue  # not reported yet
                periksa = i % 50 == 7
                angka = ratakan(sintetis.hasil(kode_tps, PASLON))
                copy.write_row((kode_tps, "perlu_periksa" if periksa else "diterima", json.dumps(angka),
                                json.dumps(TEMUAN if periksa else [])))
                n += 1
        cur.execute("""
            WITH baru AS (
                INSERT INTO hasil (kontes, kode_tps, versi, jenis, status, angka, isian, temuan, oleh)
                SELECT 'ppwp', kode_tps, 1, 'kirim', status, angka, '{}'::jsonb, temuan, 'bench' FROM muat
                RETURNING id, kode_tps, status, angka)
            INSERT INTO hasil_kini (kontes, kode_tps, kode_desa, hasil_id, versi, status, angka)
            SELECT 'ppwp', kode_tps, left(kode_tps, 10), id, 1, status, angka FROM baru""")
        cur.execute("""
            WITH g AS (
                SELECT p.kode, k.status, k.angka FROM hasil_kini k
                CROSS JOIN LATERAL (VALUES (left(k.kode_tps, 10)), (left(k.kode_tps, 6)), (left(k.kode_tps, 4)),
                                           (left(k.kode_tps, 2))) AS p(kode)),
            kotak AS (
                SELECT kode, jsonb_object_agg(key, n) AS angka FROM (
                    SELECT g.kode, e.key, sum(e.value::bigint) AS n
                    FROM g CROSS JOIN LATERAL jsonb_each_text(g.angka) e GROUP BY 1, 2) s GROUP BY kode),
            hitung AS (SELECT kode, count(*) AS masuk, sum((status = 'perlu_periksa')::int) AS periksa
                       FROM g GROUP BY kode)
            UPDATE rekap r SET angka = kotak.angka, tps_masuk = hitung.masuk, tps_perlu_periksa = hitung.periksa,
                               versi = r.versi + 1, diperbarui = now()
            FROM kotak JOIN hitung USING (kode) WHERE r.kontes = 'ppwp' AND r.kode = kotak.kode""")
        raw.commit()
    finally:
        raw.close()
    return {"tps": len(tps), "reported": n}


def _values(path: str) -> list[tuple[str, list[tuple]]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    return [(ws.title, [tuple(c.value for c in row) for row in ws.iter_rows()]) for ws in wb.worksheets]


def write_plain(path: str, sheets: list[tuple[str, list[tuple]]]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)


def write_ours(path: str, kode: str) -> None:
    from services.export import build

    with build.snapshot() as conn, conn.begin():
        build.write(conn, build.sidik(conn, "ppwp", kode), path)


def read_plain(kode: str) -> int:
    """The TPS rows alone, one plain query fetched whole: what any export must read."""
    from sqlalchemy import text

    from shared.db.engine import engine

    with engine().connect() as conn:
        rows = conn.execute(text("""
            SELECT t.kode, t.nama, k.status, k.versi, k.angka FROM wilayah t
            LEFT JOIN hasil_kini k ON k.kontes = 'ppwp' AND k.kode_tps = t.kode
            WHERE t.tingkat = 'tps' AND t.kode LIKE :p ORDER BY t.kode"""), {"p": kode + "%"}).all()
    return len(rows)


def _one(spec: dict) -> dict:
    """One measurement in a fresh process (its peak RSS is its own), on the seeded database."""
    import openpyxl  # noqa: F401 - imported before the clock starts
    import services.export.workbook  # noqa: F401

    what = spec["what"]
    sheets = _values(spec["ours"]) if what == "plain" else None  # read before the clock
    # Warm up as a running service is warm (pool, statement caches, type adapters): one desa.
    if what in ("ours", "read"):
        from sqlalchemy import text

        from shared.db.engine import engine

        with engine().connect() as conn:
            desa = conn.execute(text("SELECT min(kode) FROM wilayah WHERE tingkat = 'desa' AND kode LIKE :p"),
                                {"p": spec["kode"] + "%"}).scalar_one()
        write_ours(spec["plain"], desa) if what == "ours" else read_plain(desa)
    rss_before = _rss_mb()
    c0, t0 = _cpu(), time.perf_counter()
    if what == "ours":
        write_ours(spec["ours"], spec["kode"])
    elif what == "plain":
        write_plain(spec["plain"], sheets)
    else:
        read_plain(spec["kode"])
    return {"seconds": round(time.perf_counter() - t0, 3), "cpu_s": round(_cpu() - c0, 3),
            "peak_rss_mb": round(_rss_mb("VmHWM"), 1), "rss_before_mb": round(rss_before, 1)}


def _run(mode: str, spec: dict) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), mode, json.dumps(spec)],
                          capture_output=True, text=True, check=False, cwd=str(ROOT))
    if proc.returncode != 0:
        raise RuntimeError(f"export bench {mode} {spec.get('what', '')} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child(spec: dict) -> dict:
    """Seed a throwaway database, then measure ours and the plain write, alternating."""
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)  # never a configured database: this one is thrown away
    from shared import embedded
    from shared.db import migrate, seed

    kode, repeat = spec["kode"], spec["repeat"]
    with tempfile.TemporaryDirectory(prefix="rekap-bench-export-") as tmp, embedded.services(Path(tmp) / "db"):
        migrate.upgrade()
        seed.seed(Path(spec["wilayah"]) if spec.get("wilayah") else seed.DEFAULT_WILAYAH)
        t0 = time.perf_counter()
        loaded = load(kode)
        load_s = time.perf_counter() - t0
        paths = {"kode": kode, "ours": os.path.join(tmp, "ours.xlsx"), "plain": os.path.join(tmp, "plain.xlsx")}
        runs: dict[str, list[dict]] = {"ours": [], "plain": [], "read": []}
        for _ in range(repeat):
            for what in ("ours", "plain", "read"):
                runs[what].append(_run("--one", {**paths, "what": what}))
        best = {what: {"seconds": min(r["seconds"] for r in rs), "cpu_s": min(r["cpu_s"] for r in rs),
                       "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
                       "rss_before_mb": min(r["rss_before_mb"] for r in rs)} for what, rs in runs.items()}
        from openpyxl import load_workbook

        wb = load_workbook(paths["ours"], read_only=True)
        cells = sum(1 for ws in wb.worksheets for row in ws.iter_rows() for _ in row)
        return {"tps": loaded["tps"], "reported": loaded["reported"], "load_s": round(load_s, 2),
                "repeat": repeat, "cells": cells, "file_mb": round(os.path.getsize(paths["ours"]) / 2**20, 2),
                # the plain writer holds every cell value in memory: its peak RSS is not comparable
                "ours_db_read_and_write": best["ours"], "plain_write_same_cells": best["plain"],
                "plain_db_read_tps": best["read"]}


def measure(name: str, kode: str, repeat: int, wilayah: Path | None = None) -> dict:
    spec = json.dumps({"kode": kode, "repeat": repeat, "wilayah": str(wilayah) if wilayah else None})
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", spec],
                          capture_output=True, text=True, check=False, cwd=str(ROOT))
    if proc.returncode != 0:
        raise RuntimeError(f"export bench {name} failed:\n{proc.stderr[-4000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    ours, plain = r["ours_db_read_and_write"], r["plain_write_same_cells"]
    r["ratio_time"] = round(ours["seconds"] / plain["seconds"], 3)
    r["ratio_cpu"] = round(ours["cpu_s"] / plain["cpu_s"], 3)
    return r


def run(quick: bool = False, jatim: bool = False) -> dict:
    results = {"jombang": measure("jombang", "3517", 2 if quick else 3)}
    if jatim:
        if not INDONESIA.exists():
            results["jawa_timur"] = {"skipped": f"{INDONESIA} not found"}
        else:
            with tempfile.TemporaryDirectory(prefix="rekap-bench-jatim-") as tmp:
                csv_path = _region_csv("35", Path(tmp) / "wilayah-35.csv")
                results["jawa_timur"] = measure("jawa_timur", "35", 1, csv_path)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jatim", action="store_true", help="also Jawa Timur from the national region file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    if args.one:
        print(json.dumps(_one(json.loads(args.one))))
        return 0
    print(json.dumps(run(quick=args.quick, jatim=args.jatim), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
