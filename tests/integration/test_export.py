"""The export service on the real stack: recap JSON at every level, the
Sirekap-shaped JSON, and D.Hasil workbooks opened with openpyxl and checked
against the JSON, against the submissions and against an independent SQL sum.

Kecamatan JOGOROTO (351719) is this module's own: no other test submits there.
Desa from `tps_pool` are exclusive too.
"""

import io
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import text

from shared import sintetis
from shared.db.engine import engine
from shared.domain.hasil import ratakan, susun
from services.export import build, rekap as rekap_db, sirekap
from services.export.workbook import (
    BARIS_DATA, KOLOM_ANGKA_ANAK, KOLOM_ANGKA_TPS, LABEL_JUMLAH, LABEL_REKAP, LABEL_STATUS,
    LEMBAR_PARTISIPASI, LEMBAR_RINGKASAN, LEMBAR_TPS, kunci_angka,
)
from services.recap.verify import verify
from tests.integration.conftest import Client, quiesce, recap
from tests.workbook_kolom import nilai

KEC = "351719"
PASLON = [1, 2, 3]
SIREKAP_ID = {"1": "100025", "2": "100026", "3": "100027"}
KUNCI = kunci_angka({"paslon": [{"nomor_urut": n} for n in PASLON]})
N = len(KUNCI)


# --- helpers ------------------------------------------------------------------------


def blok(r: dict) -> list:
    return [nilai(r, k) for k in KUNCI]


def baris(ws, row: int, kolom: int, n: int) -> list:
    return [ws.cell(row, kolom + i).value for i in range(n)]


def cari(ws, kolom: int, isi) -> int:
    for (cell,) in ws.iter_rows(min_col=kolom, max_col=kolom):
        if cell.value == isi:
            return cell.row
    raise AssertionError(f"{isi!r} not in column {kolom} of {ws.title}")


def get_xlsx(stack, token: str | None, kontes: str, kode: str, **headers) -> requests.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(f"{stack.export_url}/api/v1/rekap/{kontes}/{kode}.xlsx", headers=headers, timeout=120)


def buka(resp: requests.Response):
    assert resp.status_code == 200, resp.text[:500]
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    return load_workbook(io.BytesIO(resp.content))


def submit(client, issue, kode_tps: str, rusak=None, **changes) -> dict:
    body = {**sintetis.hasil(kode_tps, PASLON, rusak=rusak), **changes}
    resp = client(issue("kpps", kode_tps)).submit(kode_tps, body)
    assert resp.status_code == 201, resp.text
    return body


def tps_of(kode: str) -> list[str]:
    with engine().connect() as conn:
        return conn.execute(text("SELECT kode FROM wilayah WHERE tingkat = 'tps' AND kode LIKE :p ORDER BY kode"),
                            {"p": kode + "%"}).scalars().all()


def sql_sum(kode: str) -> dict:
    """The region's totals recomputed straight from the current TPS results (not the recap rows)."""
    with engine().connect() as conn:
        rows = conn.execute(text("""
            SELECT e.key, sum(e.value::bigint) FROM hasil_kini k CROSS JOIN LATERAL jsonb_each_text(k.angka) e
            WHERE k.kontes = 'ppwp' AND k.kode_tps LIKE :p GROUP BY 1"""), {"p": kode + "%"}).all()
    return susun({key: int(v) for key, v in rows}, PASLON)


@pytest.fixture(scope="module")
def kecamatan(stack, issue):
    """JOGOROTO with results from two desa: clean ones, one perlu_periksa, the rest not in."""
    client = lambda raw=None: Client(stack.intake_url, raw)  # noqa: E731 - the module-wide client
    tps = tps_of(KEC)
    chosen = [t for t in tps if t[:10] in (KEC + "2002", KEC + "2004")][:12]
    bodies = {}
    for i, kode in enumerate(chosen):
        bodies[kode] = submit(client, issue, kode, rusak="identitas" if i == 3 else None)
    quiesce()
    return {"tps": tps, "bodies": bodies, "periksa": chosen[3], "ppk": issue("ppk", KEC)}


# --- recap JSON -------------------------------------------------------------------------

def test_recap_json_of_the_kecamatan_equals_an_independent_sum(stack, kecamatan):
    data = recap(stack, KEC)
    want = sql_sum(KEC)
    for key in ("suara", "suara_sah", "suara_tidak_sah", "suara_total", "pemilih", "pengguna", "disabilitas",
                "surat_suara"):
        assert data[key] == want[key], key
    assert data["progres"]["tps_masuk"] == len(kecamatan["bodies"])
    assert data["progres"]["tps_total"] == len(kecamatan["tps"])
    assert data["tps_perlu_periksa"] == 1
    assert [a["kode"] for a in data["anak"]] == sorted({t[:10] for t in kecamatan["tps"]})
    assert isinstance(data["versi_data"], int) and data["diperbarui"].endswith("Z")
    with engine().connect() as conn:
        assert [d for d in verify(conn, "ppwp") if d.kode.startswith(KEC)] == []


def test_recap_json_of_the_kabupaten_lists_every_kecamatan(stack, kecamatan):
    data = recap(stack, "3517")
    assert data["tingkat"] == "kabupaten" and len(data["anak"]) == 21
    assert data["progres"]["tps_total"] == 3858
    assert requests.get(f"{stack.export_url}/api/v1/rekap/ppwp/35", timeout=10).status_code == 404  # not loaded
    assert requests.get(f"{stack.export_url}/api/v1/rekap/ppwp/999999", timeout=10).status_code == 404


def test_sirekap_json_has_the_2024_aggregate_shape(stack, kecamatan):
    data = recap(stack, KEC)
    resp = requests.get(f"{stack.export_url}/api/v1/rekap/ppwp/{KEC}/sirekap.json", timeout=30)
    assert resp.status_code == 200
    s = resp.json()
    assert s["mode"] == "hhcw" and s["psu"] == "Reguler"
    assert {k: s["chart"][v] for k, v in SIREKAP_ID.items()} == data["suara"]
    assert s["chart"]["persen"] == data["progres"]["persen"]
    assert s["progres"] == {"progres": data["progres"]["tps_masuk"], "total": data["progres"]["tps_total"]}
    assert set(s["table"]) == {a["kode"] for a in data["anak"]}
    for anak in data["anak"]:
        row = s["table"][anak["kode"]]
        if anak["progres"]["tps_masuk"]:
            assert row["status_progress"] is True
            assert {k: row[v] for k, v in SIREKAP_ID.items()} == anak["suara"]
        else:
            assert row["status_progress"] is False and row["100025"] is None
        assert row["persen"] == anak["progres"]["persen"] and row["psu"] == "Reguler"
    assert len(s["ts"]) == 19  # "YYYY-MM-DD HH:MM:SS", WIB
    desa = kecamatan["periksa"][:10]
    per_tps = requests.get(f"{stack.export_url}/api/v1/rekap/ppwp/{desa}/sirekap.json", timeout=30).json()
    assert kecamatan["periksa"] in per_tps["table"]
    assert per_tps["table"][kecamatan["periksa"]]["persen"] == 100.0


# --- the workbook ------------------------------------------------------------------------

def test_kecamatan_workbook_matches_the_json_and_the_submissions(stack, kecamatan):
    data = recap(stack, KEC)
    resp = get_xlsx(stack, kecamatan["ppk"], "ppwp", KEC)
    wb = buka(resp)
    assert wb.sheetnames == [LEMBAR_RINGKASAN, "Per Desa", LEMBAR_TPS, LEMBAR_PARTISIPASI]
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.headers["ETag"]

    ws = wb[LEMBAR_RINGKASAN]
    label = {ws.cell(r, 1).value: ws.cell(r, 3).value for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
    assert label["Kode wilayah"] == KEC and label["Nama wilayah"] == "JOGOROTO"
    assert label["Versi data"] == data["versi_data"]
    for nomor in PASLON:
        assert ws.cell(cari(ws, 1, nomor), 3).value == data["suara"][str(nomor)]
    assert ws.cell(cari(ws, 1, "V.A"), 3).value == data["suara_sah"]
    assert ws.cell(cari(ws, 1, "V.C"), 3).value == data["suara_total"]
    assert baris(ws, cari(ws, 1, "B.4"), 3, 3) == [data["pengguna"]["total"][x] for x in "lpj"]
    assert ws.cell(cari(ws, 2, "TPS masuk"), 3).value == data["progres"]["tps_masuk"]
    assert ws.cell(cari(ws, 2, "TPS seluruhnya"), 3).value == data["progres"]["tps_total"]
    assert ws.cell(cari(ws, 2, "TPS perlu periksa (ada temuan)"), 3).value == 1

    ws = wb["Per Desa"]
    for i, anak in enumerate(data["anak"]):
        assert ws.cell(BARIS_DATA + i, 2).value == anak["kode"]
        assert baris(ws, BARIS_DATA + i, KOLOM_ANGKA_ANAK, N) == blok(anak)
    total = cari(ws, 3, LABEL_JUMLAH)
    assert baris(ws, total, KOLOM_ANGKA_ANAK, N) == blok(data) == blok(sql_sum(KEC))
    assert baris(ws, total, KOLOM_ANGKA_ANAK + N, 2) == [data["progres"]["tps_masuk"], data["progres"]["tps_total"]]
    with pytest.raises(AssertionError):
        cari(ws, 3, LABEL_REKAP)  # the children add up

    ws = wb[LEMBAR_TPS]
    kode = [ws.cell(BARIS_DATA + i, 3).value for i in range(len(kecamatan["tps"]))]
    assert kode == kecamatan["tps"]  # every TPS, in order, reported or not
    for tps, body in kecamatan["bodies"].items():
        r = cari(ws, 3, tps)
        assert baris(ws, r, KOLOM_ANGKA_TPS, N) == blok(susun(ratakan(body), PASLON))
        assert all(isinstance(v, int) for v in baris(ws, r, KOLOM_ANGKA_TPS, N))
    r = cari(ws, 3, kecamatan["periksa"])
    assert ws.cell(r, 5).value == LABEL_STATUS["perlu_periksa"]
    assert ws.cell(r, 1).fill.fill_type == "solid"
    assert "suara sah" in ws.cell(r, KOLOM_ANGKA_TPS + N).value.lower()
    belum = next(t for t in kecamatan["tps"] if t not in kecamatan["bodies"])
    r = cari(ws, 3, belum)
    assert ws.cell(r, 5).value == LABEL_STATUS["belum"]
    assert baris(ws, r, KOLOM_ANGKA_TPS, N) == [None] * N
    r = cari(ws, 1, LABEL_JUMLAH)
    assert baris(ws, r, KOLOM_ANGKA_TPS, N) == blok(data)
    assert ws.cell(r, 4).value == f"{len(kecamatan['bodies'])} dari {len(kecamatan['tps'])} TPS masuk"
    with pytest.raises(AssertionError):
        cari(ws, 1, LABEL_REKAP)

    ws = wb[LEMBAR_PARTISIPASI]
    for anak in data["anak"]:
        r = cari(ws, 2, anak["kode"])
        assert ws.cell(r, 6).value == anak["pemilih"]["dpt"]["j"]
        assert ws.cell(r, 9).value == anak["pengguna"]["total"]["j"]
        assert ws.cell(r, 13).value == anak["disabilitas"]["j"]


def test_workbook_is_cached_per_data_version(stack, client, issue, kecamatan):
    ppk = kecamatan["ppk"]
    first = get_xlsx(stack, ppk, "ppwp", KEC)
    again = get_xlsx(stack, ppk, "ppwp", KEC)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content and first.headers["ETag"] == again.headers["ETag"]
    unchanged = get_xlsx(stack, ppk, "ppwp", KEC, **{"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304

    # The same numbers again: a new version of one TPS, no sum changes; the file still changes.
    tps = next(iter(kecamatan["bodies"]))
    resp = client(issue("kpps", tps)).submit(tps, kecamatan["bodies"][tps])
    assert resp.status_code == 201 and resp.json()["versi"] == 2
    quiesce()
    after = get_xlsx(stack, ppk, "ppwp", KEC)
    assert after.headers["ETag"] != first.headers["ETag"]
    ws = buka(after)[LEMBAR_TPS]
    assert ws.cell(cari(ws, 3, tps), 6).value == 2


def test_same_version_asked_at_once_is_built_once(stack, client, issue, tps_pool):
    desa, tps = tps_pool()
    submit(client, issue, tps[0])
    quiesce()
    token = issue("ppk", desa[:6])
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: get_xlsx(stack, token, "ppwp", desa), range(4)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1  # one file: same bytes, same "Dibuat" time
    wb = buka(answers[0])
    assert wb["Per TPS"].cell(BARIS_DATA, 2).value == tps[0]


def test_nothing_reported_is_a_valid_workbook(stack, issue, tps_pool):
    desa, tps = tps_pool()
    wb = buka(get_xlsx(stack, issue("ppk", desa[:6]), "ppwp", desa))
    ws = wb[LEMBAR_TPS]
    assert [ws.cell(BARIS_DATA + i, 5).value for i in range(len(tps))] == [LABEL_STATUS["belum"]] * len(tps)
    assert ws.cell(cari(ws, 1, LABEL_JUMLAH), 4).value == f"0 dari {len(tps)} TPS masuk"
    ws = wb[LEMBAR_RINGKASAN]
    assert ws.cell(cari(ws, 2, "TPS belum masuk"), 3).value == len(tps)
    assert ws.cell(cari(ws, 1, "V.C"), 3).value == 0


def test_a_job_builds_large_or_asked_for_workbooks(stack, client, issue, tps_pool):
    desa, tps = tps_pool()
    body = submit(client, issue, tps[0])
    quiesce()
    token = issue("ppk", desa[:6])
    resp = get_xlsx(stack, token, "ppwp", desa, Prefer="respond-async")
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert job["status"] in ("antre", "berjalan", "selesai") and job["kode"] == desa
    assert resp.headers["Location"] == job["url"] and resp.headers["Retry-After"]
    url = f"{stack.export_url}{job['url']}"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": f"Bearer {issue('ppk', KEC)}"}, timeout=10).status_code == 403
    deadline = time.monotonic() + 60
    while True:
        done = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        if done.status_code != 202 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    wb = buka(done)
    r = cari(wb[LEMBAR_TPS], 3, tps[0])
    assert baris(wb[LEMBAR_TPS], r, KOLOM_ANGKA_TPS, N) == blok(susun(ratakan(body), PASLON))
    # built once: the plain request now gets the same file from the cache
    cached = get_xlsx(stack, token, "ppwp", desa)
    assert cached.status_code == 200 and cached.content == done.content
    missing = requests.get(f"{stack.export_url}/api/v1/ekspor/tidak-ada", timeout=10)
    assert missing.status_code == 404


def test_workbook_needs_ppk_or_wider_for_that_region(stack, issue, kecamatan):
    tps = kecamatan["tps"][0]
    assert get_xlsx(stack, None, "ppwp", KEC).status_code == 401
    assert get_xlsx(stack, issue("kpps", tps), "ppwp", KEC).status_code == 403
    assert get_xlsx(stack, issue("pps", tps[:10]), "ppwp", tps[:10]).status_code == 403
    assert get_xlsx(stack, issue("ppk", "351701"), "ppwp", KEC).status_code == 403
    assert get_xlsx(stack, issue("ppk", KEC), "ppwp", "3517").status_code == 403
    assert get_xlsx(stack, issue("kpu_kab", "3517"), "ppwp", KEC).status_code == 200
    assert get_xlsx(stack, issue("kpu", "0"), "ppwp", "351799").status_code == 404
    assert get_xlsx(stack, issue("kpu", "0"), "ppwp", "0").status_code == 404  # no national load here


# --- provinsi and national, inside a transaction rolled back -----------------------------

def test_provinsi_and_national_recap_and_workbook(services, kecamatan):
    """Jombang's load has no provinsi: add Jawa Timur and the national root above it for the
    length of one transaction, read them as the service does, write the province's workbook."""
    quiesce()
    with engine().connect() as conn, conn.begin() as tx:
        conn.execute(text("""INSERT INTO wilayah (kode, tingkat, nama, kode_induk) VALUES
                             ('0', 'nasional', 'INDONESIA', NULL), ('35', 'provinsi', 'JAWA TIMUR', '0')"""))
        for kode, tingkat in (("35", "provinsi"), ("0", "nasional")):
            conn.execute(text("""INSERT INTO rekap (kontes, kode, tingkat, angka, tps_masuk, tps_total,
                                                    tps_perlu_periksa, versi)
                                 SELECT kontes, :w, :t, angka, tps_masuk, tps_total, tps_perlu_periksa, 1
                                 FROM rekap WHERE kontes = 'ppwp' AND kode = '3517'"""), {"w": kode, "t": tingkat})
        kab = rekap_db.region(conn, "ppwp", "3517")
        prov = rekap_db.region(conn, "ppwp", "35")
        nasional = rekap_db.region(conn, "ppwp", "0")
        assert [a["kode"] for a in prov["anak"]] == ["3517"] and prov["tingkat"] == "provinsi"
        assert [a["kode"] for a in nasional["anak"]] == ["35"] and nasional["tingkat"] == "nasional"
        assert prov["suara"] == nasional["suara"] == kab["suara"]
        paslon = rekap_db.paslon(conn, "ppwp")
        assert sirekap.agregat(nasional, paslon)["table"]["35"]["100026"] == kab["suara"]["2"]

        s = build.sidik(conn, "ppwp", "35")
        assert s.tps_total == 3858 and not build.sidik(conn, "ppwp", "0").kunci == s.kunci
        buffer = io.BytesIO()
        build.write(conn, s, buffer)
        tx.rollback()
    buffer.seek(0)
    wb = load_workbook(buffer, read_only=True)
    assert wb.sheetnames == [LEMBAR_RINGKASAN, "Per Kabupaten", LEMBAR_TPS, LEMBAR_PARTISIPASI]
    rows = list(wb[LEMBAR_TPS].iter_rows(min_row=BARIS_DATA, values_only=True))
    total = next(r for r in rows if r[0] == LABEL_JUMLAH)
    assert list(total[KOLOM_ANGKA_TPS - 1:KOLOM_ANGKA_TPS - 1 + N]) == blok(kab)
    assert rows.index(total) == 3858
    kabupaten = next(r for r in wb["Per Kabupaten"].iter_rows(min_row=BARIS_DATA, values_only=True)
                     if r[1] == "3517")
    assert list(kabupaten[KOLOM_ANGKA_ANAK - 1:KOLOM_ANGKA_ANAK - 1 + N]) == blok(kab)
