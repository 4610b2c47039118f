"""After the night: how long until the kabupaten recap is exact, and `rekap verify`.

"Exact" means the kabupaten total the export API serves equals the sum of
the current versions of its TPS, box by box, with the count of TPS in and of
TPS flagged. That sum comes, in order of preference, from:

- the database (`DATABASE_URL`): every current version under the kabupaten,
  whoever sent it (other clients, other tests), recomputed on every poll;
- otherwise the export itself: its total before the run, plus what this run
  counted, minus the versions this run replaced (read from `/riwayat`). Right
  when the recap was settled before the run; the report says which basis it used.
"""

from __future__ import annotations

import time
from collections import Counter

import requests
from sqlalchemy import text

from shared.domain import hasil

TPS_MASUK = "#tps_masuk"
PERLU_PERIKSA = "#tps_perlu_periksa"


def flat_recap(doc: dict, paslon: list[int]) -> dict[str, int]:
    """The export's nested recap as flat `angka` (the inverse of hasil.susun), with the TPS counts."""
    out = {f"suara.{n}": doc["suara"].get(str(n), 0) for n in paslon}
    for key in hasil.SUARA_V:
        out[key] = doc[key]
    for jk in "lp":
        out[f"pemilih.dpt.{jk}"] = doc["pemilih"]["dpt"][jk]
        out[f"disabilitas.{jk}"] = doc["disabilitas"][jk]
        for jenis in hasil.JENIS_PEMILIH:
            out[f"pengguna.{jenis}.{jk}"] = doc["pengguna"][jenis][jk]
    for s in hasil.SURAT_SUARA:
        out[f"surat_suara.{s}"] = doc["surat_suara"][s]
    out[TPS_MASUK] = doc["progres"]["tps_masuk"]
    out[PERLU_PERIKSA] = doc["tps_perlu_periksa"]
    return out


def differences(have: dict[str, int], want: dict[str, int]) -> list[str]:
    return [f"{k}: recap {have.get(k, 0)}, expected {want.get(k, 0)}"
            for k in sorted(set(have) | set(want)) if have.get(k, 0) != want.get(k, 0)]


def expected_from_db(conn, kontes: str, kabupaten: str) -> dict[str, int]:
    """The sum of every current version under the kabupaten, with the TPS counts."""
    params = {"k": kontes, "p": kabupaten + "%"}
    out = {r.key: int(r.total) for r in conn.execute(text("""
        SELECT e.key, sum(e.value::bigint) AS total
        FROM hasil_kini k CROSS JOIN LATERAL jsonb_each_text(k.angka) AS e
        WHERE k.kontes = :k AND k.kode_tps LIKE :p GROUP BY e.key"""), params)}
    row = conn.execute(text("""
        SELECT count(*) AS masuk, count(*) FILTER (WHERE status = 'perlu_periksa') AS perlu
        FROM hasil_kini WHERE kontes = :k AND kode_tps LIKE :p"""), params).one()
    out[TPS_MASUK], out[PERLU_PERIKSA] = int(row.masuk), int(row.perlu)
    return out


class Baseline:
    """The no-database basis: the export's total before the run, plus this run's changes."""

    def __init__(self, doc: dict, paslon: list[int]):
        self.before = flat_recap(doc, paslon)
        self.paslon = paslon

    def expected(self, final: dict[str, tuple[dict, bool]], versi: dict[str, int], intake: str,
                 kontes: str, token: str) -> dict[str, int]:
        total = Counter(self.before)
        prior = _prior_versions(intake, kontes, token, {k: v for k, v in versi.items() if v > 1})
        for kode, (isian, flagged) in final.items():
            total.update(hasil.ratakan(isian))
            total[PERLU_PERIKSA] += flagged
            if kode in prior:
                old_isian, old_status = prior[kode]
                total.subtract(hasil.ratakan(old_isian))
                total[PERLU_PERIKSA] -= old_status == "perlu_periksa"
            else:
                total[TPS_MASUK] += 1
        return dict(total)


def _prior_versions(intake: str, kontes: str, token: str, versi: dict[str, int]) -> dict[str, tuple[dict, str]]:
    """For TPS whose submission was not their first version: the version it replaced."""
    out = {}
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        for kode, v in versi.items():
            resp = http.get(f"{intake}/api/v1/hasil/{kontes}/{kode}/riwayat", timeout=30)
            resp.raise_for_status()
            for row in resp.json():
                if row["versi"] == v - 1:
                    out[kode] = (row["isian"], row["status"])
    return out


def wait_exact(export: str, kontes: str, kabupaten: str, paslon: list[int], expected, since: float,
               timeout: float) -> tuple[float | None, list[str]]:
    """Poll the kabupaten recap until it equals `expected()`; (ms after `since`, []) or (None, differences)."""
    deadline = time.monotonic() + timeout
    diffs: list[str] = ["never read"]
    with requests.Session() as http:
        while True:
            try:
                resp = http.get(f"{export}/api/v1/rekap/{kontes}/{kabupaten}", timeout=10)
                if resp.ok:
                    diffs = differences(flat_recap(resp.json(), paslon), expected())
                    if not diffs:
                        return (time.monotonic() - since) * 1000, []
                else:
                    diffs = [f"GET recap: HTTP {resp.status_code}"]
            except requests.RequestException as exc:
                diffs = [f"GET recap: {exc}"]
            if time.monotonic() > deadline:
                return None, diffs
            time.sleep(0.05)


def verify_settled(engine, timeout: float) -> tuple[list, float]:
    """`rekap verify` (every contest, every region), again while rollups drain, until it
    finds no difference or `timeout` passes; (differences, seconds waited)."""
    from services.recap.verify import verify

    started = time.monotonic()
    while True:
        with engine.connect() as conn:
            diffs = verify(conn, None)
        if not diffs or time.monotonic() - started > timeout:
            return diffs, time.monotonic() - started
        time.sleep(0.2)


def versions_made(engine, run_id: str) -> int:
    """Versions stored with this run's keys: must equal the submissions and corrections accepted."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM hasil WHERE idempotency_key LIKE :p"),
                            {"p": f"lt-{run_id}-%"}).scalar_one()
