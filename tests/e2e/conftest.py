"""Browser tests of the dashboard: Debian's chromium driven by Playwright
against the real stack (tests/integration's fixtures).

No browser is downloaded: Playwright drives /usr/bin/chromium, which this file
installs with apt-get when it is missing (the tests run as root on a fresh
machine). If that fails the e2e tests are skipped, with the reason printed.
Screenshots go to test-artifacts/e2e/.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sqlalchemy import text

from shared.db.engine import engine
from tests.integration.conftest import desa_pool, issue  # noqa: F401 - issue: a fixture, stateless: safe to share

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM = Path(os.environ.get("REKAP_CHROMIUM") or DEBIAN_CHROMIUM)  # another browser build, if you must
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


def _say(text: str) -> None:
    print(f"[e2e] {text}", file=sys.stderr, flush=True)


def _apt(say, *args: str, timeout: float) -> subprocess.CompletedProcess:
    cmd = ["apt-get", *args]
    say("running: " + " ".join(cmd))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def ensure_chromium(say=_say) -> str | None:
    """None when /usr/bin/chromium is there (installed now if need be), else why not."""
    if CHROMIUM.exists():
        return None
    if CHROMIUM != DEBIAN_CHROMIUM:
        return f"REKAP_CHROMIUM={CHROMIUM} does not exist"
    if shutil.which("apt-get") is None:
        return "/usr/bin/chromium is missing and there is no apt-get to install Debian's chromium"
    if os.geteuid() != 0:
        return "/usr/bin/chromium is missing; installing it needs root: apt-get install -y chromium"
    say("/usr/bin/chromium is missing: installing Debian's chromium with apt-get (a few minutes)")
    started = time.monotonic()
    try:
        done = _apt(say, "install", "-y", "--no-install-recommends", "chromium", timeout=900)
        if done.returncode != 0:  # a fresh machine has no package lists yet
            update = _apt(say, "update", timeout=300)
            if update.returncode != 0:
                return f"apt-get update failed: {update.stderr.strip()[-400:]}"
            done = _apt(say, "install", "-y", "--no-install-recommends", "chromium", timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"apt-get install chromium failed: {exc}"
    if done.returncode != 0 or not DEBIAN_CHROMIUM.exists():
        return f"apt-get install chromium failed: {done.stderr.strip()[-400:]}"
    say(f"installed chromium in {time.monotonic() - started:.0f} s")
    return None


@pytest.fixture(scope="package")
def stack(services, tmp_path_factory):
    """The real stack for this package only: stopped before tests/integration starts its own."""
    from services.stack import Stack

    with Stack(workers=1, beat=True, log_dir=tmp_path_factory.mktemp("e2e-stack-logs"), web_workers=2) as running:
        yield running


#: This package's own kecamatan (BANDARKEDUNGMULYO): no other test submits there.
KECAMATAN = "351718"


@pytest.fixture(scope="package")
def desa_baru(services):
    """desa_baru() -> (kode desa, [kode TPS]): a desa of KECAMATAN no test has used yet."""
    with engine().connect() as conn:
        desa = conn.execute(text("""SELECT kode FROM wilayah WHERE kode_induk = :k AND kode NOT IN
                                    (SELECT kode_desa FROM hasil_kini) ORDER BY kode"""),
                            {"k": KECAMATAN}).scalars().all()
    return desa_pool(desa)


@pytest.fixture(scope="package")
def browser(pytestconfig):
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")

    def say(text: str) -> None:  # shown as it happens, not only when a test fails
        with capture.global_and_fixture_disabled():
            _say(text)

    why = ensure_chromium(say)
    if why:
        say(f"SKIPPING the browser tests: {why}")
        pytest.skip(why)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = "playwright is not installed: pip install -e '.[dev]'"
        say(f"SKIPPING the browser tests: {why}")
        pytest.skip(why)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


class Halaman:
    """A browser tab on the stack's export service, which refuses any request that
    leaves 127.0.0.1 (nothing from a CDN) and records script errors."""

    def __init__(self, browser, stack, **context):
        self.base = stack.export_url
        self.context = browser.new_context(base_url=self.base, locale="id-ID", accept_downloads=True,
                                           **{"viewport": {"width": 1280, "height": 900}, **context})
        self.luar: list[str] = []  # requests that tried to leave loopback
        self.galat: list[str] = []  # uncaught script errors and console errors
        self.context.route("**/*", self._hanya_lokal)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.galat.append(str(exc)))
        self.page.on("console", self._konsol)

    def _konsol(self, msg):
        # A refused staff request (401/403) is logged by Chromium as an error; it is expected.
        if msg.type == "error" and not any(f"status of {s}" in msg.text for s in (401, 403)):
            self.galat.append(msg.text)

    def _hanya_lokal(self, route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "blob:", "data:")):
            route.fallback()
        else:
            self.luar.append(url)
            route.abort()

    def buka(self, path: str = "/"):
        resp = self.page.goto(path)
        self.page.wait_for_load_state("load")
        return resp

    def foto(self, nama: str, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{nama}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self):
        self.context.close()


@pytest.fixture
def halaman(browser, stack, request):
    """halaman(**context) -> Halaman; closed after the test, which must leave no script error
    and no request to anywhere but 127.0.0.1."""
    opened: list[Halaman] = []

    def make(**context) -> Halaman:
        h = Halaman(browser, stack, **context)
        opened.append(h)
        return h

    yield make
    call = getattr(request.node, "rep_call", None)
    for h in opened:
        if call is not None and call.failed:
            h.foto(f"GAGAL-{request.node.name}")  # what the browser showed when it failed
        h.close()
    for h in opened:
        assert h.luar == [], f"requests left 127.0.0.1: {h.luar}"
        assert h.galat == [], f"script errors: {h.galat}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, for the failure screenshot above."""
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep
