"""`rekap demo`: election night for one kabupaten, end to end, on this machine.

Seeds Kabupaten Jombang, starts the real stack, submits a synthetic C.Hasil
for every TPS through the HTTP API (a few deliberately broken), waits until
the recap has absorbed them, verifies it independently, writes the D.Hasil
workbook and checks its totals against the accepted submissions.
"""

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import requests
from sqlalchemy import text
from tqdm import tqdm

from shared import auth, sintetis
from shared.db import seed as seeding
from shared.db.engine import engine
from shared.domain import hasil
from shared.domain.rekap import jumlahkan, Rekap
from services.recap.verify import verify
from services.stack import Stack

KONTES = "ppwp"


def rusak_for(index: int) -> str | None:
    """Every 400th TPS breaks an identity, every 1000th has an impossible number."""
    if index % 1000 == 999:
        return "mustahil"
    if index % 400 == 199:
        return "identitas"
    return None


def _tps(kode_root: str) -> list[str]:
    with engine().connect() as conn:
        return conn.execute(text("""SELECT kode FROM wilayah WHERE tingkat = 'tps' AND kode LIKE :p
                                    ORDER BY kode"""), {"p": kode_root + "%"}).scalars().all()


def submit_all(url: str, raw_token: str, bodies: dict[str, dict], concurrency: int,
               progress: bool = True) -> tuple[dict[str, int], float]:
    """POST every body once, retrying transport failures and 5xx with the same key.
    Returns ({kode: final status}, monotonic time of the last 201)."""
    local = threading.local()
    outcome: dict[str, int] = {}
    last_accepted = [0.0]
    guard = threading.Lock()

    def one(kode: str) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {raw_token}"
        key = str(uuid.uuid4())
        for attempt in range(8):
            try:
                resp = local.session.post(f"{url}/api/v1/hasil/{KONTES}/{kode}", json=bodies[kode],
                                          headers={"Idempotency-Key": key}, timeout=30)
                if resp.status_code < 500:
                    outcome[kode] = resp.status_code
                    if resp.status_code == 201:
                        with guard:
                            last_accepted[0] = max(last_accepted[0], time.monotonic())
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2 * (attempt + 1))
        outcome[kode] = 599

    with ThreadPoolExecutor(concurrency) as pool, tqdm(total=len(bodies), disable=not progress,
                                                       desc="C.Hasil", unit="TPS", mininterval=1.0) as bar:
        for _ in pool.map(one, bodies):
            bar.update()
    return outcome, last_accepted[0]


def wait_for_recap(kontes: str, kode: str, masuk: int, timeout: float = 120) -> float:
    """Seconds until the outbox is empty and the region counts `masuk` TPS."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with engine().connect() as conn:
            waiting = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
            got = conn.execute(text("SELECT tps_masuk FROM rekap WHERE kontes = :k AND kode = :w"),
                               {"k": kontes, "w": kode}).scalar_one()
        if waiting == 0 and got == masuk:
            return time.monotonic() - started
        time.sleep(0.05)
    raise TimeoutError(f"recap of {kode} did not reach {masuk} TPS in {timeout} s")


def run(out_dir: Path, concurrency: int) -> bool:
    started = time.monotonic()
    seeding.seed()
    with engine().connect() as conn:
        root = conn.execute(text("SELECT kode_wilayah FROM kontes_wilayah WHERE kontes = :k"),
                            {"k": KONTES}).scalar_one()
        paslon = conn.execute(text("SELECT nomor_urut FROM paslon WHERE kontes = :k ORDER BY 1"),
                              {"k": KONTES}).scalars().all()
    tps = _tps(root)
    bodies = {kode: sintetis.hasil(kode, paslon, rusak=rusak_for(i)) for i, kode in enumerate(tps)}
    with engine().begin() as conn:
        raw_token, _ = auth.issue(conn, "kpu_kab", root, auth.parse_ttl("1d"), subjek="rekap demo")
    click.echo(f"{len(tps)} TPS in {root}; starting the stack")
    with Stack(workers=1) as stack:
        t_submit = time.monotonic()
        outcome, _ = submit_all(stack.intake_url, raw_token, bodies, concurrency)
        submit_s = time.monotonic() - t_submit
        accepted = [k for k, s in outcome.items() if s == 201]
        lag = wait_for_recap(KONTES, root, len(accepted))
        with engine().connect() as conn:
            diffs = verify(conn, KONTES)
        recap = requests.get(f"{stack.export_url}/api/v1/rekap/{KONTES}/{root}", timeout=30).json()
        xlsx = requests.get(f"{stack.export_url}/api/v1/rekap/{KONTES}/{root}.xlsx",
                            headers={"Authorization": f"Bearer {raw_token}"}, timeout=120)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"rekap-{KONTES}-{root}.xlsx"
    if xlsx.ok:
        path.write_bytes(xlsx.content)
    expected = jumlahkan(Rekap.dari_hasil(hasil.ratakan(bodies[k]), "") for k in accepted)
    want = hasil.susun(expected.angka, paslon)
    exact = all(recap[key] == want[key] for key in want)
    counts = Counter(outcome.values())
    click.echo(f"\nKabupaten {recap['nama']} ({root}), {KONTES}: {recap['progres']['tps_masuk']} of "
               f"{recap['progres']['tps_total']} TPS, {recap['tps_perlu_periksa']} perlu periksa")
    for nomor, votes in recap["suara"].items():
        click.echo(f"  paslon {nomor}: {votes:>9,} ({100 * votes / max(1, recap['suara_sah']):.2f}%)")
    click.echo(f"  suara sah {recap['suara_sah']:,}, tidak sah {recap['suara_tidak_sah']:,}, "
               f"total {recap['suara_total']:,}; DPT {recap['pemilih']['dpt']['j']:,}")
    click.echo(f"submissions: {dict(sorted(counts.items()))} (201 accepted, 422 rejected as impossible)")
    click.echo(f"submitted in {submit_s:.1f} s ({len(tps) / submit_s:.0f}/s); recap exact {lag:.2f} s after the last")
    click.echo(f"verify: {'no difference' if not diffs else f'{len(diffs)} differences'}; "
               f"totals equal the accepted submissions: {exact}")
    click.echo(f"workbook: {path if xlsx.ok else f'FAILED ({xlsx.status_code})'}")
    click.echo(f"done in {time.monotonic() - started:.1f} s")
    return exact and not diffs and xlsx.ok and counts.get(599, 0) == 0
