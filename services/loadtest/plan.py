"""What a kabupaten of KPPS officers does on election night, decided in advance.

Pure: no HTTP, no database. Both drivers (`rekap loadtest`, asyncio + aiohttp,
and `loadtest/locustfile.py`, standard locust) run the same plan, so their
figures mean the same thing.

Every TPS submits its C.Hasil once (a new Idempotency-Key). On top of that,
chosen by the seed, exact shares of the TPS:
- first send an invalid form (an impossible number, as the 2024 OCR misreads,
  or a malformed body): `422` expected, nothing counted; then they fix it and
  submit the good form with a new key;
- send a form with a broken identity (a sum off by one): accepted, counted,
  flagged `perlu_periksa`;
- retry their submission with the same key and the same body (the answer was
  lost on a bad link): the first answer is replayed, no new version;
- are corrected later by the PPK (`/koreksi` with an `alasan`): a new version.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
from dataclasses import dataclass

from shared import sintetis

KIRIM = "kirim"  # the TPS's submission: 201, a new version
ULANG = "ulang"  # a retry with the same key and body: 201, the first answer replayed
RUSAK = "rusak"  # an invalid form: 422, nothing counted
KOREKSI = "koreksi"  # a PPK correction: 201, a new version
JENIS = (KIRIM, ULANG, RUSAK, KOREKSI)

# Ways a form arrives broken; every one must be refused with 422.
RUSAK_VARIAN = ("mustahil", "kotak_999", "negatif", "angka_teks", "kotak_hilang", "isian_asing",
                "paslon_asing")


@dataclass(frozen=True)
class Langkah:
    """One request of a KPPS or PPK: what is sent and what must come back."""

    jenis: str  # KIRIM, ULANG, RUSAK or KOREKSI
    kode_tps: str
    path: str  # after /api/v1/hasil
    body: bytes  # the exact bytes sent (a retry resends the same bytes)
    key: str  # Idempotency-Key
    expect: int  # HTTP status
    status: str | None = None  # the `status` a 201 must carry (diterima / perlu_periksa)
    varian: str | None = None  # for RUSAK: how the form is broken


@dataclass
class Tugas:
    """The work of one TPS: steps done in order now, and maybe a correction later."""

    kode_tps: str
    langkah: list[Langkah]
    koreksi: Langkah | None = None


def encode(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def rusak(body: dict, varian: str, kode_tps: str, paslon: list[int], seed: int) -> dict:
    """A broken copy of a good form, refused with 422 whatever the rules' order."""
    b = json.loads(json.dumps(body))
    first = str(min(paslon))
    if varian == "mustahil":
        return sintetis.hasil(kode_tps, paslon, seed=seed, rusak="mustahil")
    if varian == "kotak_999":  # "105" read as "1005": a box of four digits
        b["suara"][first] = 1000 + b["suara"][first] % 10
    elif varian == "negatif":
        b["suara_tidak_sah"] = -1
    elif varian == "angka_teks":
        b["suara"][first] = str(b["suara"][first])
    elif varian == "kotak_hilang":
        del b["surat_suara"]
    elif varian == "isian_asing":
        b["catatan"] = "foto C.Hasil buram"
    elif varian == "paslon_asing":
        b["suara"][str(max(paslon) + 1)] = 0
    else:
        raise ValueError(f"unknown broken-form variant {varian!r}")
    return b


def koreksi(body: dict, kode_tps: str, paslon: list[int], rng: random.Random) -> tuple[dict, str]:
    """The PPK's correction: a few votes copied to the wrong paslon at the TPS,
    moved back. Every identity of the form still holds."""
    b = json.loads(json.dumps(body))
    dari = max(paslon, key=lambda n: b["suara"][str(n)])
    ke = rng.choice([n for n in paslon if n != dari] or [dari])
    moved = min(rng.randint(1, 5), b["suara"][str(dari)])
    b["suara"][str(dari)] -= moved
    b["suara"][str(ke)] += moved
    alasan = (f"Koreksi rapat pleno PPK: {moved} suara paslon {ke} tersalin ke paslon {dari} "
              f"pada C.Hasil TPS {kode_tps}")
    return b, alasan


def _count(n: int, fraction: float) -> int:
    if not 0 <= fraction <= 1:
        raise ValueError(f"a fraction is between 0 and 1, not {fraction}")
    return round(n * fraction)


def rencana(tps: list[str], paslon: list[int], *, run_id: str, seed: int = 2024, kontes: str = "ppwp",
            retry: float = 0.1, invalid: float = 0.03, correction: float = 0.05,
            flagged: float = 0.01, limit: int | None = None) -> list[Tugas]:
    """The whole night, in the order the TPS report (shuffled by the seed);
    `limit`: only that many TPS, drawn by the seed.

    Keys carry `run_id`, so a second run against the same database makes new
    versions instead of replaying the first run's answers."""
    if not tps:
        raise ValueError("no TPS to submit")
    if not paslon:
        raise ValueError(f"contest {kontes} has no paslon")
    rng = random.Random(f"rekap-loadtest:{seed}")
    order = sorted(tps)
    rng.shuffle(order)
    if limit is not None:
        order = order[:limit]
    n = len(order)
    invalid_set = set(rng.sample(order, _count(n, invalid)))
    flagged_set = set(rng.sample(order, _count(n, flagged)))
    retry_set = set(rng.sample(order, _count(n, retry)))
    correction_set = set(rng.sample(order, _count(n, correction)))
    base = f"/{kontes}"
    out = []
    for kode in order:
        own = random.Random(f"{seed}:{kode}")
        good = sintetis.hasil(kode, paslon, seed=seed)
        steps = []
        if kode in invalid_set:
            varian = RUSAK_VARIAN[own.randrange(len(RUSAK_VARIAN))]
            steps.append(Langkah(RUSAK, kode, f"{base}/{kode}", encode(rusak(good, varian, kode, paslon, seed)),
                                 f"lt-{run_id}-{kode}-r", 422, varian=varian))
        sent = sintetis.hasil(kode, paslon, seed=seed, rusak="identitas") if kode in flagged_set else good
        status = "perlu_periksa" if kode in flagged_set else "diterima"
        kirim = Langkah(KIRIM, kode, f"{base}/{kode}", encode(sent), f"lt-{run_id}-{kode}-k", 201, status)
        steps.append(kirim)
        if kode in retry_set:
            steps.append(Langkah(ULANG, kode, kirim.path, kirim.body, kirim.key, 201, status))
        task = Tugas(kode, steps)
        if kode in correction_set:
            body, alasan = koreksi(good, kode, paslon, own)
            task.koreksi = Langkah(KOREKSI, kode, f"{base}/{kode}/koreksi", encode({**body, "alasan": alasan}),
                                   f"lt-{run_id}-{kode}-c", 201, "diterima")
        out.append(task)
    return out


def ringkas(plan: list[Tugas]) -> dict[str, int]:
    """How many requests of each kind the plan sends (no transport retries)."""
    counts = dict.fromkeys(JENIS, 0)
    for task in plan:
        for step in task.langkah:
            counts[step.jenis] += 1
        if task.koreksi:
            counts[KOREKSI] += 1
    return counts


TUNGGU = "tunggu"  # Antrian.ambil(): nothing to hand out now, ask again shortly


class Antrian:
    """Hands out the night's work to any number of clients: the TPS in plan
    order, and each correction once a few more TPS have started after its TPS
    was accepted (the plenary comes later). Not thread-safe; asyncio tasks and
    gevent greenlets take turns, which is all it needs."""

    def __init__(self, plan: list[Tugas], seed: int = 2024):
        self._tasks = iter(plan)
        self._n = len(plan)
        self._later: list[tuple[int, int, Tugas]] = []  # (eligible once this many TPS started, seq, task)
        self._seq = itertools.count()
        self._rng = random.Random(f"rekap-loadtest-later:{seed}")
        self.started = 0
        self.in_flight = 0
        self.done = 0
        self._exhausted = False

    def ambil(self) -> tuple[str, Tugas] | str | None:
        """(KIRIM, task): do its steps, then call selesai(); (KOREKSI, task): send task.koreksi;
        TUNGGU: a TPS in flight may still queue a correction; None: the night is over."""
        if self._later and (self._later[0][0] <= self.started or self._exhausted):
            return KOREKSI, heapq.heappop(self._later)[2]
        task = None if self._exhausted else next(self._tasks, None)
        if task is None:
            self._exhausted = True
            if self._later:
                return self.ambil()
            return TUNGGU if self.in_flight else None
        self.started += 1
        self.in_flight += 1
        return KIRIM, task

    def selesai(self, task: Tugas, ok: bool) -> None:
        """The TPS's steps are done; `ok`: every answer was the expected one."""
        self.in_flight -= 1
        self.done += 1
        if ok and task.koreksi:
            delay = self._rng.randint(max(1, self._n // 50), max(2, self._n // 5))
            heapq.heappush(self._later, (self.started + delay, next(self._seq), task))
