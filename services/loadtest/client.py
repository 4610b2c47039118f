"""The asyncio + aiohttp driver: `--users` KPPS clients on keep-alive
connections, working through the plan as fast as the intake answers (or at
`--rate` requests per second), checking every answer against what the plan
expects.

A transport failure or a 5xx is an unexpected error; the client then does
what a KPPS phone does, sends the same request again with the same
Idempotency-Key (a few times, backing off), so the night still ends with
every TPS counted once and the recap can be checked.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp

from services.loadtest.plan import KOREKSI, TUNGGU, Antrian, Langkah, Tugas
from services.loadtest.stats import Stats

ATTEMPTS = 5  # per request, transport failures and 5xx included
TIMEOUT = 30.0  # seconds per request


class Driver:
    def __init__(self, host: str, token: str, *, users: int = 16, rate: float = 0.0, seed: int = 2024,
                 progress: bool = True, warmup: int = 0):
        self.host = host.rstrip("/")
        self.token = token
        self.users = users
        self.rate = rate
        self.progress = progress
        self.seed = seed
        self.warmup = warmup
        self.stats = Stats()
        self._next_slot = 0.0

    async def _pace(self) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _send(self, session: aiohttp.ClientSession, step: Langkah) -> tuple[int, dict | None]:
        """POST one step; (status, JSON body). Retries transport failures and 5xx with the same key.
        (599, None) when every attempt failed."""
        s = self.stats
        url = f"{self.host}/api/v1/hasil{step.path}"
        headers = {"Idempotency-Key": step.key, "Content-Type": "application/json"}
        for attempt in range(1, ATTEMPTS + 1):
            await self._pace()
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=step.body, headers=headers) as resp:
                    raw = await resp.read()
                    code = resp.status
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                s.answered(step, "transport", None)
                s.error(f"{step.jenis} {step.kode_tps} attempt {attempt}: {type(exc).__name__}: {exc}")
                await asyncio.sleep(0.2 * attempt)
                continue
            s.answered(step, code, (time.perf_counter() - t0) * 1000)
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                data = None
            if code >= 500:
                s.error(f"{step.jenis} {step.kode_tps} attempt {attempt}: HTTP {code} {raw[:200]!r}")
                await asyncio.sleep(0.2 * attempt)
                continue
            return code, data
        return 599, None

    async def _tps(self, session: aiohttp.ClientSession, task: Tugas) -> bool:
        """A TPS's steps in order; False (and the rest skipped) at the first wrong answer."""
        for step in task.langkah:
            code, data = await self._send(session, step)
            if not self.stats.check(step, code, data):
                return False
        return True

    async def _koreksi(self, session: aiohttp.ClientSession, task: Tugas) -> None:
        code, data = await self._send(session, task.koreksi)
        self.stats.check(task.koreksi, code, data)

    async def _report_progress(self, total: int, queue: Antrian) -> None:
        s = self.stats
        while True:
            await asyncio.sleep(5)
            elapsed = time.monotonic() - s.started
            print(f"[loadtest] {queue.done}/{total} TPS, {s.requests} requests, {s.requests / elapsed:.0f}/s, "
                  f"errors {s.errors}", file=sys.stderr, flush=True)

    async def _warm_up(self, session: aiohttp.ClientSession) -> None:
        """`warmup` GET /readyz, `users` at a time, before the clock starts: the connections are
        open and every intake process has its database and broker connections, as on a server
        that has been up all day. Nothing is written; failures here are not counted."""
        async def one() -> None:
            try:
                async with session.get(f"{self.host}/readyz") as resp:
                    await resp.read()
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                pass

        for start in range(0, self.warmup, self.users):
            await asyncio.gather(*(one() for _ in range(min(self.users, self.warmup - start))))

    async def run(self, plan: list[Tugas]) -> Stats:
        s = self.stats
        queue = Antrian(plan, self.seed)

        async def user(session: aiohttp.ClientSession) -> None:
            while True:
                work = queue.ambil()
                if work is None:
                    return
                if work == TUNGGU:
                    await asyncio.sleep(0.01)
                    continue
                jenis, task = work
                if jenis == KOREKSI:
                    await self._koreksi(session, task)
                    continue
                ok = False
                try:
                    ok = await self._tps(session, task)
                finally:
                    queue.selesai(task, ok)

        connector = aiohttp.TCPConnector(limit=self.users, limit_per_host=self.users, keepalive_timeout=30,
                                         ttl_dns_cache=300)
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        headers = {"Authorization": f"Bearer {self.token}", "User-Agent": "rekap-loadtest"}
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers,
                                         skip_auto_headers=("Accept-Encoding",)) as session:
            await self._warm_up(session)
            s.started = time.monotonic()
            progress = asyncio.create_task(self._report_progress(len(plan), queue)) if self.progress else None
            try:
                await asyncio.gather(*(user(session) for _ in range(self.users)))
            finally:
                s.finished = time.monotonic()
                if progress:
                    progress.cancel()
        return s


def run(plan: list[Tugas], host: str, token: str, **kwargs) -> Stats:
    return asyncio.run(Driver(host, token, **kwargs).run(plan))
