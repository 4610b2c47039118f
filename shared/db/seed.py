"""`rekap seed`: load a region list and an election definition.

Region CSV columns (as in ../shared/data): kode,tingkat,nama,kode_induk,tps_reguler,tps_khusus.
Each desa row expands into its TPS rows (001..N and the special 9xx numbers).
Seeding again with the same files changes nothing; with more regions adds them.

Election definition (JSON): {"kontes": [{"kode", "nama", "paslon": [{"nomor_urut",
"nama", "sirekap_id"}], "wilayah": [root codes, optional: default every top region]}]}.
"""

import csv
import gzip
import json
from pathlib import Path

from sqlalchemy import text

from shared.db.engine import engine
from shared.domain import wilayah as w

DATA = Path(__file__).resolve().parent.parent / "data"
DEFAULT_WILAYAH = DATA / "wilayah-jombang-3517.csv"
DEFAULT_PEMILU = DATA / "pemilu-2024.json"


def read_wilayah(path: Path):
    """Yield (kode, tingkat, nama, kode_induk, tps_reguler, tps_khusus), TPS rows included."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        has_provinsi = False
        for row in csv.DictReader(f):
            kode, tingkat = row["kode"].strip(), row["tingkat"].strip()
            if w.tingkat(kode) != tingkat:
                raise ValueError(f"{path}: kode {kode} is not a {tingkat}")
            induk = row["kode_induk"].strip() or None
            if tingkat == "provinsi":
                has_provinsi, induk = True, w.NASIONAL
            reguler = int(row["tps_reguler"]) if row["tps_reguler"].strip() else None
            khusus = row["tps_khusus"].strip() or None
            yield kode, tingkat, row["nama"].strip(), induk, reguler, khusus
            if tingkat == "desa":
                for nomor in w.nomor_tps(reguler or 0, khusus or ""):
                    yield w.kode_tps(kode, nomor), "tps", w.nama_tps(nomor), kode, None, None
        if has_provinsi:
            yield w.NASIONAL, "nasional", "INDONESIA", None, None, None


def _copy_rows(cursor, rows) -> int:
    count = 0
    with cursor.copy("COPY seed_wilayah FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def seed(wilayah_path: Path = DEFAULT_WILAYAH, pemilu_path: Path = DEFAULT_PEMILU) -> dict:
    pemilu = json.loads(Path(pemilu_path).read_text(encoding="utf-8"))
    raw = engine().raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        cur.execute("CREATE TEMP TABLE seed_wilayah (LIKE wilayah) ON COMMIT DROP")
        loaded = _copy_rows(cur, read_wilayah(Path(wilayah_path)))
        cur.execute("""
            INSERT INTO wilayah SELECT * FROM seed_wilayah
            ON CONFLICT (kode) DO UPDATE SET nama = EXCLUDED.nama, tingkat = EXCLUDED.tingkat,
                kode_induk = EXCLUDED.kode_induk, tps_reguler = EXCLUDED.tps_reguler,
                tps_khusus = EXCLUDED.tps_khusus""")
        # Top regions of this load: where a contest without a "wilayah" list is held.
        cur.execute("""SELECT kode FROM seed_wilayah s WHERE NOT EXISTS
                       (SELECT 1 FROM seed_wilayah p WHERE p.kode = s.kode_induk)""")
        tops = [r[0] for r in cur.fetchall()]
        for k in pemilu["kontes"]:
            _seed_kontes(cur, k, k.get("wilayah") or tops)
        raw.commit()
    finally:
        raw.close()
    return {"wilayah": loaded, "kontes": [k["kode"] for k in pemilu["kontes"]]}


def _seed_kontes(cur, k: dict, roots: list[str]) -> None:
    cur.execute("""INSERT INTO kontes (kode, nama) VALUES (%s, %s)
                   ON CONFLICT (kode) DO UPDATE SET nama = EXCLUDED.nama""", (k["kode"], k["nama"]))
    for p in k["paslon"]:
        cur.execute("""INSERT INTO paslon (kontes, nomor_urut, nama, sirekap_id) VALUES (%s, %s, %s, %s)
                       ON CONFLICT (kontes, nomor_urut) DO UPDATE
                       SET nama = EXCLUDED.nama, sirekap_id = EXCLUDED.sirekap_id""",
                    (k["kode"], p["nomor_urut"], p["nama"], p.get("sirekap_id")))
    for root in roots:
        cur.execute("""INSERT INTO kontes_wilayah (kontes, kode_wilayah) VALUES (%s, %s)
                       ON CONFLICT DO NOTHING""", (k["kode"], root))
    # A recap row for every region of the contest down to desa, with the TPS it expects.
    cur.execute("""
        INSERT INTO rekap (kontes, kode, tingkat)
        SELECT CAST(%(kontes)s AS text), r.kode, r.tingkat FROM wilayah r
        WHERE r.tingkat <> 'tps' AND EXISTS (
            SELECT 1 FROM kontes_wilayah kw WHERE kw.kontes = CAST(%(kontes)s AS text)
            AND (kw.kode_wilayah = %(nasional)s OR r.kode LIKE kw.kode_wilayah || '%%'))
        ON CONFLICT DO NOTHING""", {"kontes": k["kode"], "nasional": w.NASIONAL})
    cur.execute("""
        UPDATE rekap r SET tps_total = c.n FROM (
            SELECT g.kode, count(*) AS n FROM wilayah t
            CROSS JOIN LATERAL (VALUES (left(t.kode, 10)), (left(t.kode, 6)), (left(t.kode, 4)),
                                       (left(t.kode, 2)), (%(nasional)s)) AS g(kode)
            WHERE t.tingkat = 'tps' GROUP BY g.kode) c
        WHERE r.kontes = %(kontes)s AND r.kode = c.kode AND r.tps_total <> c.n""",
                {"kontes": k["kode"], "nasional": w.NASIONAL})
