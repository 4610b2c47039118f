"""Chaos: whatever fails, the recap ends exact. Nothing lost, nothing counted twice.

Per seed, a few thousand C.Hasil go through the intake HTTP API of the real
stack (gunicorn intake, two Celery workers, beat) in shuffled order, with
duplicates (the same Idempotency-Key again, sometimes at the same moment),
corrections (a new key and new numbers: a new version), flagged and
impossible forms, while a chaos thread SIGKILLs a whole worker (main process
and pool) or one pool process at random moments and kills Redis once
(SIGKILL: what was not yet on disk is lost) and starts it again on the same
port. After quiescence:

- `rekap verify` exits 0 (every recap row equals the sum of the current TPS
  results, one SQL aggregate);
- every TPS has exactly the versions the clients were answered 201 for, and
  its current result is the body of the highest one (nothing lost, nothing
  counted twice);
- the kabupaten recap equals the client-side sum of those bodies;
- the reconciler finds nothing left to repair.

The stack, its database (`rekap_chaos` on the session's PostgreSQL) and its
Redis belong to this module alone; seeds run one after another on the same
stack, so later seeds correct TPS of earlier ones.

    make chaos                                   # many seeds, longer runs (mk/recap.mk)
    REKAP_CHAOS_SEEDS=1-20 REKAP_CHAOS_OPS=4000 pytest tests/integration/test_chaos.py
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from shared import auth, sintetis
from shared.domain.hasil import ratakan
from services.recap.rollup import drained
from tests.integration.conftest import fresh_database

PASLON = [1, 2, 3]
KABUPATEN = "3517"


def _seeds() -> list[int]:
    spec = os.environ.get("REKAP_CHAOS_SEEDS", "1,2")
    out = []
    for part in spec.split(","):
        first, _, last = part.strip().partition("-")
        out.extend(range(int(first), int(last or first) + 1))
    return out


OPS = int(os.environ.get("REKAP_CHAOS_OPS", "1500"))


class Chaos:
    def __init__(self, stack, redis_server, log_dir: Path):
        self.stack = stack
        self.redis = redis_server
        self.log_dir = log_dir
        self.ledger: dict[str, dict[int, dict]] = {}  # kode_tps -> {versi: body}, over every seed
        self.events: list[str] = []


@pytest.fixture(scope="module")
def chaos(services, tmp_path_factory):
    from services.stack import Stack
    from shared import embedded
    from shared.db import migrate, seed
    from shared.db.engine import dispose

    url = fresh_database("rekap_chaos")
    redis_server = embedded.Redis(tmp_path_factory.mktemp("chaos-redis")).start()
    log_dir = tmp_path_factory.mktemp("chaos-logs")
    try:
        with embedded.environment(DATABASE_URL=url, REDIS_URL=redis_server.url):
            migrate.upgrade()
            seed.seed()
            with Stack(workers=2, beat=True, log_dir=log_dir, web_workers=2) as stack:
                yield Chaos(stack, redis_server, log_dir)
    finally:
        dispose()
        redis_server.stop()


def _plan(rng: random.Random, tps: list[str], ops: int) -> list[tuple[str, str, dict]]:
    """(kode_tps, key, body) in shuffled order: firsts, corrections, duplicates, bad forms."""
    plan = []
    for kode in rng.sample(tps, min(len(tps), max(1, int(ops / 1.8)))):
        versions = 1 + (rng.random() < 0.35) + (rng.random() < 0.10)
        for _ in range(versions):
            roll = rng.random()
            rusak = "mustahil" if roll < 0.02 else "identitas" if roll < 0.06 else None
            body = sintetis.hasil(kode, PASLON, seed=rng.randrange(1 << 30), rusak=rusak)
            key = str(uuid.UUID(int=rng.getrandbits(128)))
            plan.append((kode, key, body))
            while rng.random() < 0.25:
                plan.append((kode, key, body))  # the same submission again: a replay
    rng.shuffle(plan)
    for i in range(0, len(plan) - 1, 97):  # some twins arrive at the very same moment
        plan.insert(i + 1, plan[i])
    return plan


def _submit(session: requests.Session, base: str, kode: str, key: str, body: dict) -> tuple[int, int | None]:
    """A patient KPPS client: retries transport failures and 5xx with the same key."""
    for attempt in range(40):
        try:
            resp = session.post(f"{base}/api/v1/hasil/ppwp/{kode}", json=body,
                                headers={"Idempotency-Key": key}, timeout=30)
            if resp.status_code < 500:
                return resp.status_code, resp.json().get("versi") if resp.status_code == 201 else None
        except requests.RequestException:
            pass
        time.sleep(min(2.0, 0.1 * (attempt + 1)))
    raise AssertionError(f"{kode} never answered")


def _pool_children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                pass
    return out


def _havoc(chaos: Chaos, rng: random.Random, done: threading.Event, progress, total: int) -> None:
    """Kill workers at random moments; kill and restart Redis once, part way through."""
    redis_at = rng.uniform(0.2, 0.7) * total
    redis_done = False
    while not done.is_set():
        if done.wait(rng.uniform(0.3, 1.5)):
            break
        if not redis_done and progress() >= redis_at:
            chaos.redis.stop(signal.SIGKILL)
            down = rng.uniform(0.5, 3.0)
            chaos.events.append(f"redis SIGKILL at {progress()}/{total}, down {down:.1f} s")
            time.sleep(down)
            chaos.redis.start()
            redis_done = True
            continue
        name = rng.choice([n for n in chaos.stack.processes if n.startswith("worker")])
        proc = chaos.stack.processes[name]
        children = _pool_children(proc.pid) if proc.poll() is None else []
        if children and rng.random() < 0.4:
            victim = rng.choice(children)
            os.kill(victim, signal.SIGKILL)
            chaos.events.append(f"{name} pool process SIGKILL at {progress()}/{total}")
        else:
            chaos.stack.stop_one(name, signal.SIGKILL)
            chaos.events.append(f"{name} SIGKILL at {progress()}/{total}")
            done.wait(rng.uniform(0.0, 1.5))
            chaos.stack.restart(name)
    for name in list(chaos.stack.processes):  # everything up again for the quiet phase
        if name.startswith("worker") and chaos.stack.processes[name].poll() is not None:
            chaos.stack.restart(name)
    if not redis_done:  # a short run: the outage still happens, after the traffic
        chaos.redis.stop(signal.SIGKILL)
        chaos.events.append("redis SIGKILL after the traffic")
        time.sleep(1.0)
        chaos.redis.start()


def _rollup_rows_by_worker(chaos: Chaos, offsets: dict[str, int]) -> dict[str, int]:
    """Outbox rows claimed per worker process since `offsets`, from the workers' own logs
    ("Task rekap.rollup[...] succeeded in ...: <rows>")."""
    out = {}
    for name, start in offsets.items():
        with open(chaos.log_dir / f"{name}.log", "rb") as f:
            f.seek(start)
            lines = f.read().decode(errors="replace").splitlines()
        out[name] = sum(int(line.rsplit(":", 1)[1]) for line in lines
                        if "Task rekap.rollup[" in line and " succeeded in " in line)
    return out


def test_backlog_fans_out_to_every_worker(chaos):
    """A backlog (every Jombang TPS, forty times over) is shared by both worker processes."""
    from shared import outbox
    from shared.db.engine import engine

    workers = [n for n in chaos.stack.processes if n.startswith("worker")]
    assert len(workers) == 2
    drained(120, steady=1.0)
    offsets = {n: (chaos.log_dir / f"{n}.log").stat().st_size for n in workers}
    # Big enough that one worker alone needs seconds: ten times Jombang, one worker's rollup
    # task drained in half a second, before the fanned-out tasks of the other had started.
    with engine().begin() as conn:
        backlog = conn.execute(text("""INSERT INTO outbox (kontes, kode, kedalaman)
                                       SELECT 'ppwp', w.kode_induk, 4 FROM generate_series(1, 40) AS n, wilayah w
                                       WHERE w.tingkat = 'tps' AND w.kode LIKE :p ORDER BY n, w.kode"""),
                               {"p": KABUPATEN + "%"}).rowcount
    assert outbox.publish(force=True)
    drained(120, steady=1.0)
    time.sleep(0.5)  # the last task's log line
    rows = _rollup_rows_by_worker(chaos, offsets)
    assert sum(rows.values()) >= backlog
    print(f"\nbacklog of {backlog:,} outbox rows claimed per worker: {rows}")
    assert all(rows.values()), f"only some workers took part: {rows}"


@pytest.mark.parametrize("seed", _seeds())
def test_chaos_recap_stays_exact(chaos, seed):
    from services.recap.tasks import stale
    from shared.db.engine import engine

    rng = random.Random(seed)
    with engine().begin() as conn:
        tps = conn.execute(text("SELECT kode FROM wilayah WHERE tingkat = 'tps' AND kode LIKE :p ORDER BY kode"),
                           {"p": KABUPATEN + "%"}).scalars().all()
        raw, _ = auth.issue(conn, "kpu_kab", KABUPATEN, auth.parse_ttl("1h"), subjek=f"chaos {seed}")
    plan = _plan(rng, tps, OPS)
    answers: list[tuple[str, str, dict, int, int | None]] = []
    lock = threading.Lock()
    local = threading.local()
    chaos.events.clear()

    def one(op):
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {raw}"
        kode, key, body = op
        status, versi = _submit(local.session, chaos.stack.intake_url, kode, key, body)
        with lock:
            answers.append((kode, key, body, status, versi))

    done = threading.Event()
    havoc = threading.Thread(target=_havoc, args=(chaos, random.Random(seed * 7919), done, lambda: len(answers),
                                                  len(plan)), daemon=True)
    started = time.monotonic()
    havoc.start()
    try:
        with ThreadPoolExecutor(12) as pool:
            list(pool.map(one, plan))
    finally:
        done.set()
        havoc.join(60)
    traffic_s = time.monotonic() - started
    quiet_s = drained(120, steady=1.0)
    # A Celery worker can still be on its way down from the Redis outage (kombu gives up on some
    # broken broker connections and the worker exits); the supervisor starts it again within a second.
    deadline = time.monotonic() + 30
    while (dead := [n for n, p in chaos.stack.processes.items() if p.poll() is not None]) and \
            time.monotonic() < deadline:
        time.sleep(0.2)
    assert not dead, f"processes died and stayed down: {dead}; logs in {chaos.log_dir}"

    # The clients' view: one version per distinct accepted key, never two.
    by_key: dict[tuple[str, str], int] = {}
    statuses = Counter()
    for kode, key, body, status, versi in answers:
        statuses[status] += 1
        if status == 201:
            assert by_key.setdefault((kode, key), versi) == versi, f"{kode}: key {key} got two versions"
            chaos.ledger.setdefault(kode, {})[versi] = body
        else:
            assert status == 422 and body["pengguna"]["dptb"]["l"] == 888, (kode, status)

    verify = subprocess.run([sys.executable, "-m", "services.cli", "verify"], capture_output=True, text=True,
                            env=dict(os.environ), timeout=300)
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-3000:]

    with engine().begin() as conn:
        stored = {(r.kode_tps, r.versi) for r in conn.execute(text(
            "SELECT kode_tps, versi FROM hasil WHERE kontes = 'ppwp'"))}
        current = {r.kode_tps: (r.versi, r.angka) for r in conn.execute(text(
            "SELECT kode_tps, versi, angka FROM hasil_kini WHERE kontes = 'ppwp'"))}
        kabupaten = conn.execute(text("SELECT tps_masuk, angka FROM rekap WHERE kontes = 'ppwp' AND kode = :k"),
                                 {"k": KABUPATEN}).one()
        leftovers = stale(conn)
        conn.rollback()
    expected_versions = {(kode, v) for kode, versions in chaos.ledger.items() for v in versions}
    assert stored == expected_versions, (
        f"lost {sorted(expected_versions - stored)[:5]}, extra {sorted(stored - expected_versions)[:5]}")
    total: Counter = Counter()
    for kode, versions in chaos.ledger.items():
        top = max(versions)
        assert current[kode][0] == top, f"{kode}: current is v{current[kode][0]}, the latest accepted v{top}"
        assert current[kode][1] == ratakan(versions[top]), f"{kode}: current numbers differ from v{top}"
        total.update(ratakan(versions[top]))
    assert set(current) == set(chaos.ledger)
    assert kabupaten.tps_masuk == len(chaos.ledger)
    assert {k: int(v) for k, v in kabupaten.angka.items()} == dict(total)
    assert leftovers == {"desa": 0, "atas": 0}
    print(f"\nchaos seed {seed}: {len(plan)} submissions {dict(statuses)}, {len(chaos.ledger)} TPS so far, "
          f"traffic {traffic_s:.1f} s, quiet after {quiet_s:.1f} s; " + "; ".join(chaos.events))
