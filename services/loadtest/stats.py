"""What came back, counted and checked against what the plan expects.

Shared by both drivers (asyncio + aiohttp in client.py, locust in
loadtest/locustfile.py): an answer is expected or it is an error.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field

from services.loadtest.plan import KIRIM, KOREKSI, RUSAK, ULANG, Langkah

SAMPLES = 20  # error descriptions kept for the report


@dataclass
class Stats:
    latencies_ms: list[float] = field(default_factory=list)
    status_counts: Counter = field(default_factory=Counter)  # (jenis, http status)
    requests: int = 0
    accepted: int = 0  # new versions: submissions and corrections
    flagged: int = 0  # of which perlu_periksa
    replayed: int = 0
    corrections: int = 0
    rejected_expected: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    started: float = 0.0  # time.monotonic()
    finished: float = 0.0
    last_accepted: float | None = None
    versi: dict[str, int] = field(default_factory=dict)  # kode_tps -> versi of its submission
    final: dict[str, tuple[dict, bool]] = field(default_factory=dict)  # kode_tps -> (isian counted, flagged)

    def answered(self, step: Langkah, code: int | str, latency_ms: float | None) -> None:
        """Count one request: its HTTP status (or "transport") and, if it was answered, its latency."""
        self.requests += 1
        self.status_counts[(step.jenis, code)] += 1
        if latency_ms is not None:
            self.latencies_ms.append(latency_ms)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < SAMPLES:
            self.error_samples.append(what)

    def check(self, step: Langkah, code: int, data: dict | None) -> bool:
        """Is the answer what the plan expects? Counts it either way."""
        if code == 599:
            return False  # already counted as errors
        if code != step.expect:
            detail = json.dumps(data, ensure_ascii=False)[:300] if data is not None else ""
            self.error(f"{step.jenis} {step.kode_tps}: HTTP {code}, expected {step.expect} {detail}")
            return False
        if step.jenis == RUSAK:
            if not (isinstance(data, dict) and data.get("temuan")):
                self.error(f"{step.jenis} {step.kode_tps} ({step.varian}): 422 without findings")
                return False
            self.rejected_expected += 1
            return True
        versi = data.get("versi") if isinstance(data, dict) else None
        if not isinstance(versi, int):
            self.error(f"{step.jenis} {step.kode_tps}: 201 without a version: {data!r:.200}")
            return False
        if step.status and data.get("status") != step.status:
            self.error(f"{step.jenis} {step.kode_tps}: status {data.get('status')}, expected {step.status}")
            return False
        if step.jenis == KIRIM:
            self.versi[step.kode_tps] = versi
        elif step.jenis == ULANG:
            if versi != self.versi.get(step.kode_tps):
                self.error(f"ulang {step.kode_tps}: the retry answered version {versi}, "
                        f"the submission {self.versi.get(step.kode_tps)}: a replay must not make a version")
                return False
            self.replayed += 1
            return True
        elif step.jenis == KOREKSI:
            if versi != self.versi.get(step.kode_tps, -1) + 1:
                self.error(f"koreksi {step.kode_tps}: version {versi}, expected "
                        f"{self.versi.get(step.kode_tps, -1) + 1} (one after the submission)")
                return False
            self.corrections += 1
        self.accepted += 1
        flagged = data.get("status") == "perlu_periksa"
        self.flagged += flagged
        self.last_accepted = time.monotonic()
        isian = json.loads(step.body)
        isian.pop("alasan", None)
        self.final[step.kode_tps] = (isian, flagged)
        return True
