"""Rollups through the real stack (gunicorn intake, a Celery worker, beat):
a burst of submissions costs far fewer rollups than submissions times levels."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import text

from shared import sintetis
from shared.db.engine import engine


def test_rollups_per_1000_submissions_through_the_stack(stack, issue):
    """A burst through the real stack costs far fewer rollups than submissions times levels."""
    from bench.recap_bench import rollups_counted
    from tests.integration.conftest import quiesce

    with engine().connect() as conn:
        used = set(conn.execute(text("SELECT kode_desa FROM hasil_kini")).scalars())
        tps = conn.execute(text("""SELECT kode FROM wilayah WHERE tingkat = 'tps' AND kode LIKE '3517%'
                                   AND kode_induk <> ALL(:used) ORDER BY kode DESC LIMIT 1000"""),
                           {"used": list(used)}).scalars().all()
    raw = issue("kpu_kab", "3517")
    quiesce()
    before = sum(rollups_counted(stack.metrics_dir).values())
    local = threading.local()

    def one(kode):
        if not hasattr(local, "s"):
            local.s = requests.Session()
            local.s.headers["Authorization"] = f"Bearer {raw}"
        resp = local.s.post(f"{stack.intake_url}/api/v1/hasil/ppwp/{kode}", json=sintetis.hasil(kode, [1, 2, 3]),
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=30)
        assert resp.status_code == 201, resp.text

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, tps))
    quiesce()
    time.sleep(0.3)
    per_1000 = 1000 * (sum(rollups_counted(stack.metrics_dir).values()) - before) / len(tps)
    print(f"\n{per_1000:.0f} rollups per 1,000 submissions (naive: 3,000)")
    assert per_1000 < 1500
