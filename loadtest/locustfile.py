"""Locust: a kabupaten of KPPS officers against the rekap intake API.

The same night as `rekap loadtest` (services/loadtest/plan.py): every TPS
submits once; shares of them first send an invalid form (422 expected),
retry with the same Idempotency-Key (must replay), send a form with a broken
identity (accepted, perlu_periksa), or are corrected later by the PPK.
Every answer is checked: an unexpected one is a locust failure.

    pip install -e '.[load]'
    # web UI on http://127.0.0.1:8089, custom options under "Custom parameters"
    locust -f loadtest/locustfile.py --host http://127.0.0.1:8001 --rekap-token "$TOKEN"
    # headless: stops by itself when every TPS is done
    locust -f loadtest/locustfile.py --host http://127.0.0.1:8001 --headless -u 32 -r 32 \\
           --rekap-token "$TOKEN" --rekap-tps 500 --rekap-export http://127.0.0.1:8002

A token: `rekap token issue --role kpu_kab --wilayah 3517` (or, in the compose
stack, `docker-compose -p rekap exec intake rekap token issue ...`); with
DATABASE_URL set, the locustfile issues one itself. `--rekap-export` adds the
recap check at the end (the kabupaten total exact, and `rekap verify` when
DATABASE_URL is set), printed to stderr as JSON with the KPPS-level counts.
One process only: the plan lives in it (no --processes, no master/workers).
"""

import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout: `locust -f loadtest/locustfile.py`
    sys.path.insert(0, str(ROOT))

import gevent  # noqa: E402
from locust import FastHttpUser, constant, events, task  # noqa: E402
from locust.runners import MasterRunner  # noqa: E402

from services.loadtest import plan  # noqa: E402
from services.loadtest.stats import Stats  # noqa: E402

ATTEMPTS = 5  # per request: a transport failure or a 5xx is sent again with the same key


class Malam:
    """The night in this process: the plan, who does what next, what came back."""

    def __init__(self, tasks: list[plan.Tugas], seed: int, token: str, kontes: str, kabupaten: str,
                 paslon: list[int], run_id: str, issued=None):
        self.tasks = tasks
        self.queue = plan.Antrian(tasks, seed)
        self.stats = Stats(started=time.monotonic())
        self.token = token
        self.kontes = kontes
        self.kabupaten = kabupaten
        self.paslon = paslon
        self.run_id = run_id
        self.issued = issued
        self.quitting = False


MALAM: Malam | None = None


@events.init_command_line_parser.add_listener
def _options(parser):
    # Straight on the parser (not a group): locust shows these under "Custom parameters" in the web UI.
    parser.add_argument("--rekap-token", env_var="REKAP_TOKEN", default="", is_secret=True,
                        help="kpu_kab token for the kabupaten (default: issue one; needs DATABASE_URL)")
    parser.add_argument("--rekap-kontes", default="ppwp", help="contest")
    parser.add_argument("--rekap-wilayah", default="3517", help="region whose TPS submit (a kabupaten or inside one)")
    parser.add_argument("--rekap-tps", type=int, default=0, help="only this many TPS, drawn by the seed (0: all)")
    parser.add_argument("--rekap-retry", type=float, default=0.1, help="share of TPS retrying with the same key")
    parser.add_argument("--rekap-invalid", type=float, default=0.03, help="share of TPS sending an invalid form first")
    parser.add_argument("--rekap-koreksi", type=float, default=0.05, help="share of TPS corrected later by the PPK")
    parser.add_argument("--rekap-flagged", type=float, default=0.01, help="share of TPS with a broken identity")
    parser.add_argument("--rekap-seed", type=int, default=2024, help="seed of the plan")
    parser.add_argument("--rekap-export", default="", help="export URL: check the recap at the end")


def _database():
    if not os.environ.get("DATABASE_URL"):
        return None
    from shared.db.engine import engine

    return engine()


def _tps_and_paslon(db, kontes: str, wilayah: str) -> tuple[list[str], list[int]]:
    if db is not None:
        from sqlalchemy import text

        with db.connect() as conn:
            tps = conn.execute(text("SELECT kode FROM wilayah WHERE tingkat = 'tps' AND kode LIKE :p ORDER BY kode"),
                               {"p": wilayah + "%"}).scalars().all()
            paslon = conn.execute(text("SELECT nomor_urut FROM paslon WHERE kontes = :k ORDER BY 1"),
                                  {"k": kontes}).scalars().all()
        return tps, paslon
    from shared.db.seed import DEFAULT_PEMILU, DEFAULT_WILAYAH, read_wilayah

    tps = sorted(k for k, tingkat, *_ in read_wilayah(DEFAULT_WILAYAH) if tingkat == "tps" and k.startswith(wilayah))
    pemilu = json.loads(Path(DEFAULT_PEMILU).read_text(encoding="utf-8"))
    paslon = next(sorted(p["nomor_urut"] for p in k["paslon"]) for k in pemilu["kontes"] if k["kode"] == kontes)
    return tps, paslon


@events.test_start.add_listener
def _start(environment, **_kwargs):
    global MALAM
    if isinstance(environment.runner, MasterRunner):
        return
    o = environment.parsed_options
    db = _database()
    token, issued = o.rekap_token, None
    kabupaten = o.rekap_wilayah[:4]
    if not token:
        if db is None:
            raise SystemExit("locustfile: give --rekap-token (or REKAP_TOKEN), or set DATABASE_URL to issue one")
        from shared import auth

        with db.begin() as conn:
            token, issued = auth.issue(conn, "kpu_kab", kabupaten, auth.parse_ttl("1d"), subjek="locust")
    tps, paslon = _tps_and_paslon(db, o.rekap_kontes, o.rekap_wilayah)
    run_id = uuid.uuid4().hex[:12]
    # The web UI hands its form fields over as text.
    seed, limit = int(o.rekap_seed), int(o.rekap_tps or 0) or None
    tasks = plan.rencana(tps, paslon, run_id=run_id, seed=seed, kontes=o.rekap_kontes,
                         retry=float(o.rekap_retry), invalid=float(o.rekap_invalid),
                         correction=float(o.rekap_koreksi), flagged=float(o.rekap_flagged), limit=limit)
    MALAM = Malam(tasks, seed, token, o.rekap_kontes, kabupaten, paslon, run_id, issued)
    print(f"[locustfile] {len(tasks)} TPS of {o.rekap_wilayah}, requests planned {plan.ringkas(tasks)}",
          file=sys.stderr, flush=True)


@events.test_stop.add_listener
def _stop(environment, **_kwargs):
    if MALAM is None:
        return
    s = MALAM.stats
    s.finished = time.monotonic()
    summary = {"run_id": MALAM.run_id, "tps": len(MALAM.tasks), "tps_done": MALAM.queue.done,
               "submissions": s.requests, "accepted": s.accepted, "rejected_expected": s.rejected_expected,
               "replayed": s.replayed, "corrections": s.corrections, "flagged": s.flagged, "errors": s.errors,
               "error_samples": s.error_samples}
    db = _database()
    o = environment.parsed_options
    if o.rekap_export and s.last_accepted is not None:
        from services.loadtest import check

        if db is not None:
            def expected():
                with db.connect() as conn:
                    return check.expected_from_db(conn, MALAM.kontes, MALAM.kabupaten)
            lag, diffs = check.wait_exact(o.rekap_export.rstrip("/"), MALAM.kontes, MALAM.kabupaten, MALAM.paslon,
                                          expected, s.last_accepted, 60)
            verify_diffs, _ = check.verify_settled(db, 60)
            summary.update(recap_lag_ms=None if lag is None else round(lag, 1), recap_differences=diffs[:10],
                           exact=not verify_diffs, versions_created=check.versions_made(db, MALAM.run_id))
        else:
            summary.update(exact=None, note="DATABASE_URL is not set: recap and verify not checked")
    if MALAM.issued is not None and db is not None:
        from shared import auth

        with db.begin() as conn:
            auth.revoke(conn, MALAM.issued.id, oleh="locust")
    print(json.dumps(summary, indent=2, ensure_ascii=False), file=sys.stderr, flush=True)
    if s.errors or summary.get("exact") is False or (summary.get("recap_lag_ms", 0) is None):
        environment.process_exit_code = 1


class Kpps(FastHttpUser):
    """One KPPS phone (or PPK laptop): takes the next TPS of the night and does its steps."""

    wait_time = constant(0)
    connection_timeout = 30.0
    network_timeout = 30.0

    def _send(self, step: plan.Langkah) -> bool:
        s = MALAM.stats
        name = f"{step.jenis} /api/v1/hasil/{MALAM.kontes}/[tps]" + ("/koreksi" if step.jenis == plan.KOREKSI else "")
        headers = {"Authorization": f"Bearer {MALAM.token}", "Idempotency-Key": step.key,
                   "Content-Type": "application/json"}
        for attempt in range(1, ATTEMPTS + 1):
            with self.client.post(f"/api/v1/hasil{step.path}", data=step.body, headers=headers, name=name,
                                  catch_response=True) as resp:
                code = resp.status_code or 0
                s.answered(step, code or "transport", None)
                if code == 0 or code >= 500:
                    s.error(f"{step.jenis} {step.kode_tps} attempt {attempt}: "
                            f"{'HTTP %d' % code if code else resp.error}")
                    resp.failure(f"HTTP {code or resp.error}; retried with the same Idempotency-Key")
                    gevent.sleep(0.2 * attempt)
                    continue
                try:
                    data = resp.json()
                except Exception:  # noqa: BLE001 - a non-JSON answer is judged by its status
                    data = None
                before = s.errors
                ok = s.check(step, code, data)
                if ok:
                    resp.success()
                else:
                    resp.failure(s.error_samples[-1] if s.errors > before and s.error_samples else f"HTTP {code}")
                return ok
        return False

    @task
    def malam(self):
        if MALAM is None:
            gevent.sleep(0.1)
            return
        work = MALAM.queue.ambil()
        if work is None:
            if self.environment.parsed_options.headless and self.environment.runner is not None and not MALAM.quitting:
                # In a greenlet of its own: quit() stops every user, this one too, and the
                # recap check in test_stop must not run inside a user that is being killed.
                MALAM.quitting = True
                gevent.spawn(self.environment.runner.quit)
            gevent.sleep(0.5)  # the night is over: idle until stopped (the web UI's Stop, or the quit above)
            return
        if work == plan.TUNGGU:
            gevent.sleep(0.01)
            return
        jenis, tugas = work
        if jenis == plan.KOREKSI:
            self._send(tugas.koreksi)
            return
        ok = False
        try:
            for step in tugas.langkah:
                if not self._send(step):
                    break
            else:
                ok = True
        finally:
            MALAM.queue.selesai(tugas, ok)
