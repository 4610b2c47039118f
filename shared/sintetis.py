"""Plausible synthetic C.Hasil bodies, for the demo, load tests and benchmarks.

Deterministic per (seed, TPS): the same call gives the same body, so a retry
of a synthetic submission is a true replay.
"""

import random

from shared.domain.hasil import kapasitas

# Rough 2024 shares in Jombang, so the demo totals look like a real recap.
BAGIAN = {1: 0.25, 2: 0.60, 3: 0.15}


def hasil(kode_tps: str, paslon: list[int], seed: int = 2024, rusak: str | None = None) -> dict:
    """A consistent C.Hasil for one TPS; `rusak` breaks it on purpose:
    "identitas" (a sum off by one: accepted, perlu_periksa) or
    "mustahil" (888 DPTb voters, the 2024 misread: rejected)."""
    rng = random.Random(f"{seed}:{kode_tps}")
    dpt_l, dpt_p = rng.randint(90, 145), rng.randint(90, 150)
    used_l = int(dpt_l * rng.uniform(0.70, 0.92))
    used_p = int(dpt_p * rng.uniform(0.72, 0.94))
    dptb = {"l": rng.randint(0, 2), "p": rng.randint(0, 2)}
    dpk = {"l": rng.randint(0, 1), "p": rng.randint(0, 1)}
    total = used_l + used_p + sum(dptb.values()) + sum(dpk.values())
    tidak_sah = rng.randint(0, max(1, total // 40))
    sah = total - tidak_sah
    shares = {n: BAGIAN.get(n, 1 / len(paslon)) * rng.uniform(0.7, 1.3) for n in paslon}
    weight = sum(shares.values())
    suara = {str(n): int(sah * s / weight) for n, s in shares.items()}
    suara[str(max(paslon, key=lambda n: shares[n]))] += sah - sum(suara.values())
    diterima = kapasitas(dpt_l + dpt_p)
    dikembalikan = rng.randint(0, min(2, diterima - total))
    body = {
        "pemilih": {"dpt": {"l": dpt_l, "p": dpt_p}},
        "pengguna": {"dpt": {"l": used_l, "p": used_p}, "dptb": dptb, "dpk": dpk},
        "disabilitas": {"l": rng.randint(0, 2), "p": rng.randint(0, 2)},
        "surat_suara": {"diterima": diterima, "digunakan": total, "dikembalikan": dikembalikan,
                        "sisa": diterima - total - dikembalikan},
        "suara": suara, "suara_sah": sah, "suara_tidak_sah": tidak_sah, "suara_total": total,
    }
    if rusak == "identitas":
        body["suara_sah"] += 1
    elif rusak == "mustahil":
        body["pengguna"]["dptb"]["l"] = 888
    return body
