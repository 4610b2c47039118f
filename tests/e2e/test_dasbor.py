"""The dashboard in a real browser (Debian's chromium, Playwright) against the real
stack: gunicorn export and intake, a Celery worker and beat, PostgreSQL and Redis.

Screenshots: test-artifacts/e2e/*.png. Submissions go to this package's own
kecamatan (conftest.KECAMATAN).
"""

import io
import re
import uuid

import pytest
from openpyxl import load_workbook

from sqlalchemy import text

from shared import sintetis
from shared.db.engine import engine
from tests.e2e.conftest import KECAMATAN
from tests.integration.conftest import Client, quiesce

PASLON = [1, 2, 3]
TUNGGU = 30_000  # ms: a few polls of the page (every 5 s) plus a rollup


def angka(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def kirim(stack, issue, kode_tps: str, rusak: str | None = None, seed: int = 2024) -> dict:
    body = sintetis.hasil(kode_tps, PASLON, seed=seed, rusak=rusak)
    resp = Client(stack.intake_url, issue("kpps", kode_tps)).submit(kode_tps, body)
    assert resp.status_code == 201, resp.text
    return {**body, **resp.json()}


def masuk(page, token: str) -> None:
    if page.locator("#masuk").get_attribute("open") is None:
        page.get_by_text("Masuk petugas").click()
    page.get_by_label("Token petugas").fill(token)
    page.get_by_role("button", name="Masuk", exact=True).click()


def test_halaman_publik_kabupaten(halaman):
    """`/` opens on the contest's top region: Kabupaten Jombang with its 21 kecamatan,
    charts drawn by the server, staff parts hidden, in Bahasa Indonesia."""
    h = halaman()
    resp = h.buka("/")
    assert resp.status == 200 and resp.headers["content-type"].startswith("text/html")
    page = h.page
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.locator("h1").inner_text().startswith("Kabupaten/Kota JOMBANG")
    assert page.locator("table.anak tbody tr").count() == 21
    assert page.locator("svg.grafik").count() == 2  # votes per paslon, progress per kecamatan
    assert page.locator("svg.grafik rect[data-lebar^='suara.']").count() == 3
    assert page.get_by_text("PLOSO", exact=True).count() >= 1
    for staf in ("#unduh", "#periksa"):
        assert page.locator(staf).is_hidden()
    assert page.locator("button[data-unduh]:visible").count() == 0
    h.foto("01-kabupaten-publik")


def test_ponsel_tanpa_geser_samping(halaman):
    """On a phone the page fits the screen's width: wide tables scroll inside their own box."""
    h = halaman(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, device_scale_factor=2)
    h.buka("/")
    assert h.page.evaluate("document.documentElement.scrollWidth") <= 360
    h.foto("02-kabupaten-ponsel")


def test_telusur_kabupaten_kecamatan_desa_tps(halaman, stack, issue, desa_baru):
    """Drill down by links (one by keyboard), then back up by the breadcrumbs."""
    desa, tps = desa_baru()
    kirim(stack, issue, tps[0])
    quiesce()
    h = halaman()
    h.buka("/")
    page = h.page
    link = page.locator(f"table.anak a[href$='kode={KECAMATAN}']")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"kode={KECAMATAN}$"))
    assert page.locator("h1").inner_text().startswith("Kecamatan BANDARKEDUNGMULYO")
    assert page.locator("nav[aria-label='Jejak wilayah'] a").first.inner_text() == "Kabupaten/Kota JOMBANG"
    h.foto("03-kecamatan")

    page.locator(f"table.anak a[href$='kode={desa}']").click()
    page.wait_for_url(re.compile(f"kode={desa}$"))
    assert page.locator("h1").inner_text().startswith("Desa/Kelurahan")
    assert page.locator("table.anak tbody tr").count() == len(tps)
    assert page.locator(f"tr[data-w='{tps[0]}'] .lencana").inner_text() == "Diterima"
    assert page.locator(f"tr[data-w='{tps[1]}'] .lencana").inner_text() == "Belum masuk"
    h.foto("04-desa")

    page.locator(f"table.anak a[href$='kode={tps[0]}']").click()
    page.wait_for_url(re.compile(f"kode={tps[0]}$"))
    assert page.locator("h1").inner_text().startswith("TPS 001")
    assert page.locator("#riwayat").is_hidden()  # staff only
    h.foto("05-tps")

    page.get_by_role("link", name="Kabupaten/Kota JOMBANG").click()
    page.wait_for_url(re.compile("kode=3517$"))
    assert page.locator("table.anak tbody tr").count() == 21


def test_kiriman_baru_muncul_tanpa_muat_ulang(halaman, stack, issue, desa_baru):
    """A C.Hasil submitted while the page is open appears on it, numbers, status and
    findings, by polling the public JSON: the page is never reloaded."""
    desa, tps = desa_baru()
    h = halaman()
    h.buka(f"/?kontes=ppwp&kode={desa}")
    page = h.page
    page.evaluate("window.__belumDimuatUlang = true")
    ringkas = page.locator(f"div[data-w='{desa}']")
    assert ringkas.locator("[data-f='progres.tps_masuk']").inner_text() == "0"

    bersih = kirim(stack, issue, tps[0])
    salah = kirim(stack, issue, tps[1], rusak="identitas")
    assert salah["status"] == "perlu_periksa"

    baris = page.locator(f"tr[data-w='{tps[0]}']")
    for n in PASLON:
        page.wait_for_function(
            "([sel, v]) => document.querySelector(sel).textContent === v",
            arg=[f"tr[data-w='{tps[0]}'] [data-f='suara.{n}']:not([data-fmt])", angka(bersih["suara"][str(n)])],
            timeout=TUNGGU)
    assert baris.locator(".lencana").inner_text() == "Diterima"
    page.locator(f"tr[data-w='{tps[1]}'] .lencana", has_text="Perlu diperiksa").wait_for(timeout=TUNGGU)
    temuan = page.locator(f"tr[data-w='{tps[1]}'] ul.temuan li")
    assert temuan.count() == len(salah["temuan"]) >= 1
    assert temuan.first.inner_text() == salah["temuan"][0]["pesan"]
    # the desa's own totals follow once the rollup has run
    ringkas.locator("[data-f='progres.tps_masuk']", has_text="2").wait_for(timeout=TUNGGU)
    ringkas.locator("[data-f='tps_perlu_periksa']", has_text="1").wait_for(timeout=TUNGGU)
    sah = bersih["suara_sah"] + salah["suara_sah"]
    ringkas.locator("[data-f='suara_sah']", has_text=angka(sah)).wait_for(timeout=TUNGGU)
    lebar = float(page.locator(f"div[data-w='{desa}'] rect[data-lebar='suara.1']").get_attribute("width").rstrip("%"))
    assert lebar == pytest.approx(100 * (bersih["suara"]["1"] + salah["suara"]["1"]) / sah, abs=0.01)
    assert page.evaluate("window.__belumDimuatUlang") is True
    h.foto("06-desa-terbarui-tanpa-muat-ulang")

    # The server goes away: the page says so and keeps the last numbers; then it recovers.
    page.route("**/api/v1/rekap/**", lambda route: route.abort())
    page.locator("#status-data.putus").wait_for(timeout=TUNGGU)
    assert "terputus" in page.locator("#status-data").inner_text()
    assert page.locator("#kabar").text_content() == "Koneksi ke server terputus."  # announced once
    assert ringkas.locator("[data-f='suara_sah']").inner_text() == angka(sah)
    h.foto("06b-desa-koneksi-terputus")
    page.unroute("**/api/v1/rekap/**")
    page.locator("#status-data:not(.putus) #diperbarui").wait_for(timeout=TUNGGU)
    assert page.locator("#kabar").text_content().startswith("Koneksi pulih")
    h.galat = [g for g in h.galat if "ERR_FAILED" not in g]  # the aborted polls, on purpose


def test_petugas_unduh_daftar_periksa_riwayat(halaman, stack, issue, desa_baru):
    """A PPK signs in: the review list shows the flagged TPS with its findings and a link to
    its history; the D.Hasil workbooks download, also through a job (202) as large regions do."""
    desa, tps = desa_baru()
    kirim(stack, issue, tps[0])
    salah = kirim(stack, issue, tps[1], rusak="identitas")
    kirim(stack, issue, tps[1], rusak="identitas", seed=7)  # a second version, for the history
    quiesce()
    h = halaman()
    page = h.page
    h.buka(f"/?kontes=ppwp&kode={KECAMATAN}")
    masuk(page, issue("ppk", KECAMATAN))
    page.locator("#identitas").wait_for()
    assert "PPK · BANDARKEDUNGMULYO (351718)" in page.locator("#identitas").inner_text()

    periksa = page.locator("#periksa")
    periksa.locator(f"tr:has(a[href*='kode={tps[1]}'])").wait_for(timeout=TUNGGU)
    assert periksa.locator(f"tr:has(a[href*='kode={tps[1]}']) ul.temuan li").count() >= 1
    assert "TPS perlu diperiksa" in page.locator("#periksa-ringkas").inner_text()
    h.foto("07-petugas-kecamatan")

    # A large region's workbook is a job: 202 with its URL, polled until the file is there.
    # The stack builds Jombang's regions in the request, so ask for the job as a client may.
    statuses = []
    page.on("response", lambda r: (r.url.endswith(".xlsx") or "/api/v1/ekspor/" in r.url)
            and statuses.append(r.status))
    page.route("**/*.xlsx", lambda route: route.continue_(
        headers={**route.request.headers, "prefer": "respond-async"}))
    with page.expect_download(timeout=60_000) as unduhan:
        page.get_by_role("button", name=re.compile("Unduh D.Hasil Kecamatan")).click()
    wb = load_workbook(io.BytesIO(open(unduhan.value.path(), "rb").read()))
    assert unduhan.value.suggested_filename == f"rekap-ppwp-{KECAMATAN}.xlsx"
    assert len(wb.sheetnames) >= 2
    assert "diunduh" in page.locator("#unduh-pesan").inner_text()
    assert statuses[0] == 202 and statuses[-1] == 200, statuses
    page.unroute("**/*.xlsx")

    # A desa's workbook from its row, built in the request.
    with page.expect_download(timeout=60_000) as unduhan:
        page.locator(f"tr[data-w='{desa}'] button[data-unduh]").click()
    assert unduhan.value.suggested_filename == f"rekap-ppwp-{desa}.xlsx"
    load_workbook(io.BytesIO(open(unduhan.value.path(), "rb").read()))
    h.foto("08-petugas-unduh")

    # The history of the flagged TPS, proxied from the intake service.
    periksa.locator(f"a[href*='kode={tps[1]}']").first.click()
    page.wait_for_url(re.compile(f"kode={tps[1]}#riwayat$"))
    tabel = page.locator("#riwayat-tabel")
    tabel.wait_for(timeout=TUNGGU)
    assert tabel.locator("tbody tr").count() == 2
    assert tabel.locator("tbody tr").first.locator("td").first.inner_text() == "2"
    assert tabel.locator("tbody tr").last.locator("td").nth(2).inner_text() == "Perlu diperiksa"
    assert salah["temuan"][0]["pesan"] in tabel.inner_text()
    h.foto("09-petugas-riwayat-tps")

    page.get_by_role("button", name="Keluar").click()
    assert page.locator("#riwayat").is_hidden()
    assert page.evaluate("sessionStorage.getItem('rekap.token')") is None


def test_publik_tidak_mencapai_bagian_petugas(halaman, stack, issue, desa_baru):
    """Without a token the staff parts stay hidden and their endpoints refuse; a KPPS
    token or a forged one gets no staff part either."""
    desa, tps = desa_baru()
    kirim(stack, issue, tps[0], rusak="identitas")
    quiesce()
    h = halaman()
    page = h.page
    h.buka(f"/?kontes=ppwp&kode={KECAMATAN}")
    for staf in ("#unduh", "#periksa", "th.staf-unduh"):
        assert page.locator(staf).is_hidden()
    # what the page's own script could reach without a token
    status = page.evaluate("""async (urls) => {
        const out = [];
        for (const u of urls) out.push((await fetch(u)).status);
        return out;
    }""", [f"/api/v1/rekap/ppwp/{KECAMATAN}.xlsx", f"/api/v1/dasbor/periksa/ppwp/{KECAMATAN}",
           f"/api/v1/dasbor/riwayat/ppwp/{tps[0]}", "/api/v1/dasbor/saya"])
    assert status == [401, 401, 401, 401]

    masuk(page, "bukan.token.yang.sah")
    page.locator("#pesan-masuk").wait_for()
    assert "Token tidak ada, tidak valid" in page.locator("#pesan-masuk").inner_text()
    assert page.evaluate("sessionStorage.getItem('rekap.token')") is None

    masuk(page, issue("kpps", tps[0]))  # a KPPS: neither downloads nor the review list
    page.locator("#identitas").wait_for()
    assert page.locator("#unduh").is_hidden() and page.locator("#periksa").is_hidden()
    kpps = issue("kpps", tps[0])
    status = page.evaluate("""async ([urls, tok]) => {
        const out = [];
        for (const u of urls) out.push((await fetch(u, {headers: {Authorization: 'Bearer ' + tok}})).status);
        return out;
    }""", [[f"/api/v1/rekap/ppwp/{KECAMATAN}.xlsx", f"/api/v1/dasbor/periksa/ppwp/{KECAMATAN}",
            f"/api/v1/dasbor/riwayat/ppwp/{tps[1]}"], kpps])
    assert status == [403, 403, 403]
    h.foto("10-kpps-tanpa-bagian-petugas")


def _desa_terbesar() -> str:
    with engine().connect() as conn:
        return conn.execute(text("""SELECT kode_induk FROM wilayah WHERE tingkat = 'tps' AND kode LIKE '3517%'
                                    GROUP BY kode_induk ORDER BY count(*) DESC, kode_induk LIMIT 1""")).scalar_one()


@pytest.mark.parametrize("halaman_uji", ["kabupaten", "desa terbesar"])
def test_berat_halaman(halaman, stack, halaman_uji):
    """What the browser transfers to show a page (HTML, CSS, script, icon and the first
    poll of the recap JSON) stays well under 200 KB: the kabupaten page (the most
    children) and the desa with the most TPS of the seed."""
    path = "/" if halaman_uji == "kabupaten" else f"/?kontes=ppwp&kode={_desa_terbesar()}"
    h = halaman()
    page = h.page
    cdp = h.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    diterima: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: diterima.__setitem__(e["requestId"], e["encodedDataLength"]))
    resp = h.buka(path)
    assert resp.headers.get("content-encoding") == "gzip"
    page.wait_for_timeout(6000)  # one poll of the recap JSON too
    total = sum(diterima.values())
    rincian = sorted(((urls.get(k, k), v) for k, v in diterima.items()), key=lambda x: -x[1])
    print(f"\npage weight of {path} ({halaman_uji}): {total / 1024:.1f} KB transferred in {len(diterima)} requests "
          f"(HTML {len(resp.body()) / 1024:.1f} KB before gzip)")
    for url, n in rincian:
        print(f"  {n / 1024:7.1f} KB  {url.replace(stack.export_url, '')}")
    assert any("/api/v1/rekap/ppwp/" in u for u, _ in rincian), "the page did not poll"
    assert total < 200 * 1024


KONTRAS = """() => {
  // WCAG 2 contrast of every visible text against the background it sits on.
  const lum = (c) => {
    const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const latar = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const buruk = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden') continue;
    const svg = el instanceof SVGElement;
    const fg = rgb(svg ? st.fill : st.color).slice(0, 3), bg = latar(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) buruk.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return buruk;
}"""

LABEL = """() => {
  const out = [];
  for (const c of document.querySelectorAll('input, select, textarea'))
    if (!c.labels.length && !c.getAttribute('aria-label')) out.push('control without label: ' + c.outerHTML.slice(0, 60));
  for (const b of document.querySelectorAll('button, a'))
    if (!(b.getAttribute('aria-label') || b.textContent.trim())) out.push('no accessible name: ' + b.outerHTML.slice(0, 60));
  for (const i of document.querySelectorAll('img')) if (!i.hasAttribute('alt')) out.push('img without alt');
  for (const t of document.querySelectorAll('thead th')) if (!t.getAttribute('scope')) out.push('th without scope');
  if (document.querySelectorAll('h1').length !== 1) out.push('not one h1');
  return out;
}"""


def test_aksesibel_keyboard_label_kontras(halaman, stack, issue, desa_baru):
    """Sign in by keyboard alone; every control labelled, every text with enough contrast
    (WCAG AA), on a kecamatan page with a flagged TPS (highlights, staff buttons) and a desa."""
    desa, tps = desa_baru()
    kirim(stack, issue, tps[0], rusak="identitas")
    quiesce()
    h = halaman()
    page = h.page
    h.buka(f"/?kontes=ppwp&kode={KECAMATAN}")
    page.locator("#masuk summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.type(issue("ppk", KECAMATAN))
    page.keyboard.press("Enter")
    page.locator("#identitas").wait_for()
    page.locator("#periksa-tabel").wait_for()
    for path in (f"/?kontes=ppwp&kode={KECAMATAN}", f"/?kontes=ppwp&kode={desa}", f"/?kontes=ppwp&kode={tps[0]}"):
        h.buka(path)
        page.locator("#identitas").wait_for()  # still signed in: the token lives in this tab
        assert page.evaluate(LABEL) == [], path
        assert page.evaluate(KONTRAS) == [], path


def test_alamat_salah_dijawab_halaman_404(stack):
    """Unknown contests and regions answer a 404 page in Bahasa Indonesia, not a crash."""
    import html

    import requests

    for query, pesan in (("kontes=zzz", "Kontes 'zzz' tidak ada."), ("kode=12", "Tidak ada rekap kontes ppwp"),
                         ("kode=abc", "Kode wilayah 'abc' tidak dikenal."),
                         ("kode=3517999999999", "Tidak ada rekap kontes ppwp")):
        resp = requests.get(f"{stack.export_url}/?{query}", timeout=10)
        assert resp.status_code == 404 and resp.headers["Content-Type"].startswith("text/html"), query
        assert pesan in html.unescape(resp.text), query
    assert requests.get(f"{stack.export_url}/aset/../dashboard.py", timeout=10).status_code == 404
