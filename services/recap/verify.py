"""`rekap verify`: recompute every recap from the TPS results with one SQL
aggregate, independent of the rollup code, and compare with the stored rows."""

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, text

from shared.domain import wilayah as w

# Every level's prefix of a TPS code, and the national root.
_PREFIXES = ", ".join(f"(left(k.kode_tps, {n}))" for n in (10, 6, 4, 2)) + f", ('{w.NASIONAL}')"

AGGREGATE = text(f"""
    SELECT k.kontes, g.kode, e.key, sum(e.value::bigint) AS total
    FROM hasil_kini k
    CROSS JOIN LATERAL jsonb_each_text(k.angka || jsonb_build_object(
        '#tps_masuk', 1, '#tps_perlu_periksa', (k.status = 'perlu_periksa')::int)) AS e
    CROSS JOIN LATERAL (VALUES {_PREFIXES}) AS g(kode)
    WHERE (CAST(:kontes AS text) IS NULL OR k.kontes = CAST(:kontes AS text))
    GROUP BY 1, 2, 3""")


@dataclass
class Selisih:
    """One difference between the stored recap and the recomputed one."""

    kontes: str
    kode: str
    field: str
    tersimpan: int  # stored
    dihitung: int  # recomputed

    def __str__(self) -> str:
        return f"{self.kontes} {self.kode} {self.field}: stored {self.tersimpan}, recomputed {self.dihitung}"


def verify(conn: Connection, kontes: str | None = None) -> list[Selisih]:
    expected: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for r in conn.execute(AGGREGATE, {"kontes": kontes}):
        expected[(r.kontes, r.kode)][r.key] = int(r.total)
    diffs = []
    stored = conn.execute(text("""
        SELECT kontes, kode, angka, tps_masuk, tps_perlu_periksa FROM rekap
        WHERE CAST(:kontes AS text) IS NULL OR kontes = CAST(:kontes AS text) ORDER BY kontes, kode"""), {"kontes": kontes})
    for r in stored:
        want = expected.get((r.kontes, r.kode), {})
        have = {k: int(v) for k, v in r.angka.items()}
        have["#tps_masuk"] = r.tps_masuk
        have["#tps_perlu_periksa"] = r.tps_perlu_periksa
        for key in sorted(set(want) | set(have)):
            if have.get(key, 0) != want.get(key, 0):
                diffs.append(Selisih(r.kontes, r.kode, key.lstrip("#"), have.get(key, 0), want.get(key, 0)))
    return diffs
