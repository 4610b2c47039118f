"""`rekap verify` agrees after real rollups, and catches a recap row altered behind its back."""

import os
import subprocess
import sys

from sqlalchemy import text

from shared import outbox, sintetis
from shared.db.engine import engine
from tests.integration.conftest import quiesce


def rekap_verify() -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli", "verify"], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)


def test_verify_passes_then_fails_on_tampering_then_repair(stack, client, issue, tps_pool):
    desa, tps = tps_pool()
    kpu = client(issue("kpu_kab", "3517"))
    for kode in tps[:3]:
        assert kpu.submit(kode, sintetis.hasil(kode, [1, 2, 3])).status_code == 201
    quiesce()
    ok = rekap_verify()
    assert ok.returncode == 0, ok.stdout + ok.stderr

    with engine().begin() as conn:
        conn.execute(text("""UPDATE rekap SET angka = jsonb_set(angka, '{suara.2}',
                             to_jsonb((angka->>'suara.2')::int + 7)) WHERE kontes = 'ppwp' AND kode = :k"""),
                     {"k": desa[:6]})
    bad = rekap_verify()
    assert bad.returncode == 1
    assert f"ppwp {desa[:6]} suara.2" in bad.stdout

    # The repair path: queue the desa again; the rollup recomputes upwards from stored rows.
    with engine().begin() as conn:
        outbox.record(conn, "ppwp", desa)
        outbox.record(conn, "ppwp", desa[:6], "kecamatan")
    outbox.publish(force=True)
    quiesce()
    again = rekap_verify()
    assert again.returncode == 0, again.stdout
