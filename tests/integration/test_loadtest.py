"""`rekap loadtest` against the test stack: a short night in kecamatan the
`tps_pool` fixture reaches last (it hands out desa in code order from the
first), checked against every current version in the shared session
database, so other tests' data does not matter."""

import json
import os
import subprocess
import sys

import pytest

from services.loadtest import plan
from shared import sintetis
from shared.domain import aturan
from tests.integration.conftest import quiesce

REPORT_FIELDS = ("submissions", "accepted", "rejected_expected", "errors", "rps", "latency_ms", "recap_lag_ms",
                 "exact")


def rekap_loadtest(*args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    # `python -c`, not `-m services.cli`: the command is registered at the end of the module.
    done = subprocess.run([sys.executable, "-c", "from services.cli import main; main()", "loadtest", *args],
                          capture_output=True, text=True, env=env or dict(os.environ), timeout=300)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"no JSON report on stdout (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done, report


def test_plan_is_deterministic_and_shares_are_exact():
    tps = [f"3517142001{n:03d}" for n in range(1, 201)]
    a = plan.rencana(tps, [1, 2, 3], run_id="a", seed=7, retry=0.2, invalid=0.1, correction=0.1, flagged=0.05)
    b = plan.rencana(tps, [1, 2, 3], run_id="a", seed=7, retry=0.2, invalid=0.1, correction=0.1, flagged=0.05)
    assert [t.kode_tps for t in a] == [t.kode_tps for t in b] and sorted(t.kode_tps for t in a) == tps
    assert plan.ringkas(a) == {"kirim": 200, "ulang": 40, "rusak": 20, "koreksi": 20}
    assert len(plan.rencana(tps, [1, 2, 3], run_id="a", limit=50)) == 50
    # A retry resends the very bytes and key of its submission.
    for task in a:
        kirim = [s for s in task.langkah if s.jenis == plan.KIRIM][0]
        for retry in (s for s in task.langkah if s.jenis == plan.ULANG):
            assert (retry.body, retry.key) == (kirim.body, kirim.key)


@pytest.mark.parametrize("varian", plan.RUSAK_VARIAN)
def test_every_broken_form_is_refused(varian):
    from marshmallow import ValidationError

    from services.intake.schemas import CHasil

    kode = "3517142001001"
    body = plan.rusak(sintetis.hasil(kode, [1, 2, 3]), varian, kode, [1, 2, 3], 2024)
    try:
        isian = CHasil().load(body)
    except ValidationError:
        return  # 422 from the schema
    assert aturan.status(aturan.periksa(isian, [1, 2, 3])) == "ditolak"


def test_loadtest_reports_an_exact_recap(stack, issue):
    pytest.importorskip("aiohttp", reason="rekap loadtest needs the `load` extra (aiohttp)")
    done, report = rekap_loadtest(
        "--host", stack.intake_url, "--export", stack.export_url, "--token", issue("kpu_kab", "3517"),
        "--wilayah", "351720", "--tps", "118", "--users", "8", "--seed", "7",
        "--retry", "0.2", "--invalid", "0.1", "--koreksi", "0.1", "--flagged", "0.05")
    assert done.returncode == 0, done.stdout + done.stderr
    for field in REPORT_FIELDS:
        assert field in report, field
    assert set(report["latency_ms"]) >= {"p50", "p95", "p99"}
    assert report["latency_ms"]["p50"] <= report["latency_ms"]["p95"] <= report["latency_ms"]["p99"]
    assert report["tps"] == 118 and report["errors"] == 0, report["error_samples"]
    assert report["rejected_expected"] == 12 and report["replayed"] == 24 and report["corrections"] == 12
    assert report["accepted"] == 118 + 12 == report["versions_created"]  # no replay made a version
    assert report["submissions"] == report["accepted"] + report["replayed"] + report["rejected_expected"]
    assert report["flagged"] >= 1 and report["rps"] > 0
    assert report["recap_basis"] == "database" and report["recap_lag_ms"] is not None
    assert report["exact"] is True and report["verify"]["differences"] == 0
    assert report["ok"] is True and report["failures"] == []


def test_without_the_database_it_says_exact_is_unknown(stack, issue):
    pytest.importorskip("aiohttp", reason="rekap loadtest needs the `load` extra (aiohttp)")
    quiesce()  # the no-database basis is the export's total before the run: settled
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done, report = rekap_loadtest(
        "--host", stack.intake_url, "--export", stack.export_url, "--token", issue("kpu_kab", "3517"),
        "--wilayah", "351721", "--tps", "40", "--users", "4", "--seed", "8", "--quiet", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["errors"] == 0 and report["accepted"] >= 40
    assert report["recap_basis"] == "export-baseline" and report["recap_lag_ms"] is not None
    assert report["exact"] is None and report["verify"]["ran"] is False
    assert "DATABASE_URL" in report["verify"]["reason"]


def test_a_wrong_token_is_an_error_and_a_failure(stack, issue):
    pytest.importorskip("aiohttp", reason="rekap loadtest needs the `load` extra (aiohttp)")
    done, report = rekap_loadtest(
        "--host", stack.intake_url, "--export", stack.export_url, "--token", issue("kpu_kab", "3578"),
        "--wilayah", "351721", "--tps", "3", "--users", "2", "--recap-timeout", "1", "--verify-timeout", "1",
        "--quiet")
    assert done.returncode == 1
    assert report["errors"] == 3 and report["accepted"] == 0 and report["ok"] is False
    assert "HTTP 403" in report["error_samples"][0]
