"""The D.Hasil workbook writer: written to memory, read back with openpyxl."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from services.export.workbook import (
    BARIS_DATA,
    KOLOM_ANGKA_ANAK,
    KOLOM_ANGKA_TPS,
    LABEL_JUMLAH,
    LABEL_JUMLAH_RUMUS,
    LABEL_REKAP,
    LABEL_STATUS,
    LEMBAR_PARTISIPASI,
    LEMBAR_RINGKASAN,
    LEMBAR_TPS,
    kunci_angka,
    lembar_anak,
    write_workbook,
)
from tests.workbook_kolom import nilai

KONTES = {
    "kode": "ppwp",
    "nama": "Pemilihan Presiden dan Wakil Presiden 2024",
    "paslon": [
        {"nomor_urut": 1, "nama": "H. ANIES RASYID BASWEDAN, Ph.D. - Dr. (H.C.) H. A. MUHAIMIN ISKANDAR"},
        {"nomor_urut": 2, "nama": "H. PRABOWO SUBIANTO - GIBRAN RAKABUMING RAKA"},
        {"nomor_urut": 3, "nama": "H. GANJAR PRANOWO, S.H., M.I.P. - Prof. Dr. H. M. MAHFUD MD"},
    ],
}
KUNCI = kunci_angka(KONTES)
N = len(KUNCI)
DIBUAT = datetime(2024, 2, 20, 19, 30, tzinfo=timezone(timedelta(hours=7)))  # 12:30 UTC
DIBUAT_UTC = datetime(2024, 2, 20, 12, 30)


# --- building inputs -------------------------------------------------------------

def lpj(l, p):
    return {"l": l, "p": p, "j": l + p}


def hasil(dpt=(120, 130), pengguna=(100, 110), dptb=(1, 0), dpk=(0, 1), suara=(50, 130, 25),
          tidak_sah=7, disabilitas=(1, 2), dikembalikan=1):
    """C.Hasil numbers that obey the form's identities."""
    tl, tp = pengguna[0] + dptb[0] + dpk[0], pengguna[1] + dptb[1] + dpk[1]
    total = tl + tp
    sah = sum(suara)
    assert sah + tidak_sah == total, "test data must be consistent"
    diterima = -(-(sum(dpt)) * 102 // 100)
    return {
        "suara": {str(i): v for i, v in enumerate(suara, 1)},
        "suara_sah": sah, "suara_tidak_sah": tidak_sah, "suara_total": total,
        "pemilih": {"dpt": lpj(*dpt)},
        "pengguna": {"dpt": lpj(*pengguna), "dptb": lpj(*dptb), "dpk": lpj(*dpk), "total": lpj(tl, tp)},
        "disabilitas": lpj(*disabilitas),
        "surat_suara": {"diterima": diterima, "digunakan": total, "dikembalikan": dikembalikan,
                        "sisa": diterima - total - dikembalikan},
    }


def nol():
    return hasil(dpt=(0, 0), pengguna=(0, 0), dptb=(0, 0), dpk=(0, 0), suara=(0, 0, 0), tidak_sah=0,
                 disabilitas=(0, 0), dikembalikan=0)


def jumlahkan(records):
    """Sum records field by field, the way the recap adds children up."""
    def tambah(a, b):
        if isinstance(a, dict):
            return {k: tambah(a[k], b[k]) for k in a}
        return a + b
    keys = ("suara", "suara_sah", "suara_tidak_sah", "suara_total", "pemilih", "pengguna",
            "disabilitas", "surat_suara")
    total = {k: nol()[k] for k in keys}
    for r in records:
        total = {k: tambah(total[k], r[k]) for k in keys}
    return total




def wilayah(kode, nama, angka, masuk, total, perlu=0, **lain):
    return {"kode": kode, "nama": nama, "kontes": "ppwp", **angka,
            "progres": {"tps_masuk": masuk, "tps_total": total,
                        "persen": round(100 * masuk / total, 2) if total else 0.0},
            "tps_perlu_periksa": perlu, **lain}


def tps(kode, status, angka=None, temuan=(), versi=1):
    desa = kode[:10]
    t = {"kode": kode, "nama": f"TPS {kode[-3:]}", "kode_desa": desa, "nama_desa": f"DESA {desa}",
         "kode_kecamatan": kode[:6], "nama_kecamatan": f"KEC {kode[:6]}", "status": status,
         "versi": None if status == "belum" else versi, "temuan": list(temuan)}
    if angka is not None:
        t.update(angka)
    return t


TEMUAN = {"kode": "surat_suara.jumlah", "fields": ["surat_suara"],
          "pesan": "Surat suara diterima tidak sama dengan digunakan + dikembalikan + sisa",
          "message": "Ballots received differ from used + returned + unused"}


@pytest.fixture(scope="module")
def kabupaten():
    """Kabupaten Jombang with three kecamatan: one full, one partial, one with nothing reported."""
    a = hasil()
    b = hasil(dpt=(140, 150), pengguna=(120, 125), suara=(60, 150, 37), tidak_sah=0)
    c = hasil(dpt=(100, 90), pengguna=(80, 70), dptb=(0, 0), dpk=(0, 0), suara=(40, 90, 18),
              tidak_sah=2, disabilitas=(0, 0))
    daftar_tps = [
        tps("3517012001001", "diterima", a),
        tps("3517012001002", "perlu_periksa", b, temuan=[TEMUAN], versi=2),
        tps("3517022001001", "diterima", c),
        tps("3517022001002", "belum"),
        tps("3517032001001", "belum"),
        tps("3517032001002", "belum"),
    ]
    anak = [
        wilayah("351701", "BANDAR KEDUNG MULYO", jumlahkan([a, b]), 2, 2, 1),
        wilayah("351702", "PERAK", jumlahkan([c]), 1, 2),
        wilayah("351703", "GUDO", nol(), 0, 2),
    ]
    rekap = wilayah("3517", "JOMBANG", jumlahkan([a, b, c]), 3, 6, 1, tingkat="kabupaten", anak=anak,
                    diperbarui="2024-02-20T12:00:00Z")
    buf = io.BytesIO()
    write_workbook(buf, rekap, iter(daftar_tps), KONTES, dibuat=DIBUAT, versi_data=7)
    buf.seek(0)
    return {"rekap": rekap, "tps": daftar_tps, "wb": load_workbook(buf), "angka": (a, b, c)}


def tulis(rekap, daftar_tps, kontes=KONTES, **kw):
    buf = io.BytesIO()
    write_workbook(buf, rekap, daftar_tps, kontes, dibuat=kw.get("dibuat", DIBUAT),
                   versi_data=kw.get("versi_data", 1))
    buf.seek(0)
    return load_workbook(buf)


def baris_dengan(ws, kolom, teks):
    """1-based row index of the first row whose cell in `kolom` equals `teks`."""
    for (sel,) in ws.iter_rows(min_col=kolom, max_col=kolom):
        if sel.value == teks:
            return sel.row
    raise AssertionError(f"no row with {teks!r} in column {kolom} of {ws.title}")


def nilai_baris(ws, baris, awal, n):
    return [ws.cell(baris, awal + i).value for i in range(n)]


# --- structure ---------------------------------------------------------------------

def test_sheet_names(kabupaten):
    assert kabupaten["wb"].sheetnames == [LEMBAR_RINGKASAN, "Per Kecamatan", LEMBAR_TPS, LEMBAR_PARTISIPASI]


@pytest.mark.parametrize("tingkat, lembar", [
    ("provinsi", "Per Kabupaten"), ("kabupaten", "Per Kecamatan"), ("kecamatan", "Per Desa"),
    ("desa", "Per TPS"),
])
def test_children_sheet_named_after_level(tingkat, lembar):
    assert lembar_anak(tingkat) == lembar
    rekap = wilayah("35", "X", nol(), 0, 0, tingkat=tingkat, anak=[])
    assert tulis(rekap, [])[lembar] is not None


def test_frozen_header_and_page_setup(kabupaten):
    wb = kabupaten["wb"]
    beku = {LEMBAR_RINGKASAN: "A4", "Per Kecamatan": "D5", LEMBAR_TPS: "G5", LEMBAR_PARTISIPASI: "D5"}
    for ws in wb:
        assert ws.freeze_panes == beku[ws.title]
        assert ws.page_setup.orientation == "landscape"
        assert str(ws.page_setup.paperSize) == "9"  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows in ("$1:$3", "$1:$4")
    assert wb[LEMBAR_TPS].print_title_rows == "$1:$4"
    assert wb[LEMBAR_TPS].column_dimensions["C"].width > 10


def test_document_properties(kabupaten):
    props = kabupaten["wb"].properties
    assert props.creator == "rekap"
    assert "KABUPATEN JOMBANG (3517)" in props.title and KONTES["nama"] in props.title
    assert props.created == DIBUAT_UTC


def test_a_kota_is_not_called_kabupaten():
    rekap = wilayah("3578", "KOTA SURABAYA", nol(), 0, 0, tingkat="kabupaten", anak=[])
    assert "- KOTA SURABAYA (3578)" in tulis(rekap, []).properties.title


def test_styles_are_few_and_named(kabupaten):
    """Styles are made once: more TPS rows must not add cell formats."""
    assert "rekap periksa" in kabupaten["wb"].named_styles
    banyak = [tps(f"3517012001{i:03d}", ("diterima", "perlu_periksa", "belum")[i % 3], hasil(),
                  temuan=[TEMUAN] if i % 3 == 1 else []) for i in range(1, 301)]
    sedikit = banyak[:6]
    rekap = kabupaten["rekap"]
    assert len(tulis(rekap, banyak)._cell_styles) == len(tulis(rekap, sedikit)._cell_styles)


# --- Ringkasan ----------------------------------------------------------------------

def test_ringkasan_region_and_metadata(kabupaten):
    ws = kabupaten["wb"][LEMBAR_RINGKASAN]
    label = {ws.cell(r, 1).value: ws.cell(r, 3).value for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
    assert label["Kode wilayah"] == "3517"
    assert label["Nama wilayah"] == "JOMBANG"
    assert label["Tingkat"] == "Kabupaten/Kota"
    assert label["Kontes"].startswith("ppwp")
    assert label["Dibuat (UTC)"] == DIBUAT_UTC
    assert label["Data diperbarui (UTC)"] == datetime(2024, 2, 20, 12, 0)
    assert label["Versi data"] == 7


def test_ringkasan_paslon_votes_and_shares(kabupaten):
    ws = kabupaten["wb"][LEMBAR_RINGKASAN]
    rekap = kabupaten["rekap"]
    for p in KONTES["paslon"]:
        r = baris_dengan(ws, 1, p["nomor_urut"])
        assert ws.cell(r, 2).value == p["nama"]
        suara = rekap["suara"][str(p["nomor_urut"])]
        assert ws.cell(r, 3).value == suara
        assert ws.cell(r, 3).data_type == "n"
        assert ws.cell(r, 4).value == pytest.approx(suara / rekap["suara_sah"])
        assert ws.cell(r, 4).number_format == "0.00%"
    assert ws.cell(baris_dengan(ws, 1, "V.A"), 3).value == rekap["suara_sah"]
    assert ws.cell(baris_dengan(ws, 1, "V.B"), 3).value == rekap["suara_tidak_sah"]
    assert ws.cell(baris_dengan(ws, 1, "V.C"), 3).value == rekap["suara_total"]


def test_ringkasan_blocks_and_progress(kabupaten):
    ws = kabupaten["wb"][LEMBAR_RINGKASAN]
    rekap = kabupaten["rekap"]
    r = baris_dengan(ws, 1, "A.")
    assert nilai_baris(ws, r, 3, 3) == [rekap["pemilih"]["dpt"][x] for x in "lpj"]
    r = baris_dengan(ws, 1, "B.4")
    assert nilai_baris(ws, r, 3, 3) == [rekap["pengguna"]["total"][x] for x in "lpj"]
    assert ws.cell(baris_dengan(ws, 2, "Surat suara digunakan"), 3).value == rekap["surat_suara"]["digunakan"]
    assert nilai_baris(ws, baris_dengan(ws, 2, "Pemilih disabilitas"), 3, 3) == \
        [rekap["disabilitas"][x] for x in "lpj"]
    assert ws.cell(baris_dengan(ws, 2, "TPS masuk"), 3).value == 3
    assert ws.cell(baris_dengan(ws, 2, "TPS seluruhnya"), 3).value == 6
    assert ws.cell(baris_dengan(ws, 2, "Progres TPS masuk"), 3).value == pytest.approx(0.5)
    assert ws.cell(baris_dengan(ws, 2, "TPS perlu periksa (ada temuan)"), 3).value == 1


# --- children -------------------------------------------------------------------------

def test_children_rows_and_totals_equal_recap(kabupaten):
    ws = kabupaten["wb"]["Per Kecamatan"]
    rekap = kabupaten["rekap"]
    for i, anak in enumerate(rekap["anak"]):
        r = BARIS_DATA + i
        assert ws.cell(r, 2).value == anak["kode"]
        assert nilai_baris(ws, r, KOLOM_ANGKA_ANAK, N) == [nilai(anak, k) for k in KUNCI]
    r = baris_dengan(ws, 3, LABEL_JUMLAH)
    assert r == BARIS_DATA + len(rekap["anak"])
    assert nilai_baris(ws, r, KOLOM_ANGKA_ANAK, N) == [nilai(rekap, k) for k in KUNCI]
    assert all(ws.cell(r, KOLOM_ANGKA_ANAK + i).data_type == "n" for i in range(N))
    masuk, total, persen, perlu = nilai_baris(ws, r, KOLOM_ANGKA_ANAK + N, 4)
    assert (masuk, total, perlu) == (3, 6, 1)
    assert persen == pytest.approx(0.5)
    shares = nilai_baris(ws, r, KOLOM_ANGKA_ANAK + N + 4, 3)
    assert shares == pytest.approx([rekap["suara"][k] / rekap["suara_sah"] for k in "123"])
    # nothing to flag: the children add up to the recap
    assert all(ws.cell(x, 3).value != "Rekap wilayah" for x in range(1, ws.max_row + 1))


def test_children_formula_row_beside_totals(kabupaten):
    ws = kabupaten["wb"]["Per Kecamatan"]
    r = baris_dengan(ws, 3, LABEL_JUMLAH_RUMUS)
    assert ws.cell(r, KOLOM_ANGKA_ANAK).value == f"=SUM(D{BARIS_DATA}:D{BARIS_DATA + 2})"


def test_children_that_do_not_add_up_are_flagged(kabupaten):
    rekap = dict(kabupaten["rekap"], suara_sah=kabupaten["rekap"]["suara_sah"] + 1)
    ws = tulis(rekap, [])["Per Kecamatan"]
    r = baris_dengan(ws, 3, "Rekap wilayah")
    assert ws.cell(r, 3).fill.fill_type == "solid"
    assert ws.cell(r, KOLOM_ANGKA_ANAK + KUNCI.index("suara_sah")).value == rekap["suara_sah"]


def test_desa_children_are_tps():
    a = hasil()
    anak = [tps("3517012001001", "diterima", a), tps("3517012001002", "perlu_periksa", a, [TEMUAN]),
            tps("3517012001003", "belum")]
    rekap = wilayah("3517012001", "DESA", jumlahkan([a, a]), 2, 3, 1, tingkat="desa", anak=anak)
    ws = tulis(rekap, iter(anak))["Per TPS"]
    r = baris_dengan(ws, 3, LABEL_JUMLAH)
    assert nilai_baris(ws, r, KOLOM_ANGKA_ANAK + N, 4)[::3] == [2, 1]  # masuk, perlu periksa
    assert ws.cell(r, KOLOM_ANGKA_ANAK + N + 1).value == 3


# --- TPS --------------------------------------------------------------------------------

def test_every_tps_listed_in_order(kabupaten):
    ws = kabupaten["wb"][LEMBAR_TPS]
    kode = [ws.cell(BARIS_DATA + i, 3).value for i in range(len(kabupaten["tps"]))]
    assert kode == [t["kode"] for t in kabupaten["tps"]]


def test_perlu_periksa_row_filled_with_its_finding(kabupaten):
    ws = kabupaten["wb"][LEMBAR_TPS]
    r = baris_dengan(ws, 3, "3517012001002")
    assert ws.cell(r, 5).value == LABEL_STATUS["perlu_periksa"]
    assert ws.cell(r, 6).value == 2
    temuan = ws.cell(r, KOLOM_ANGKA_TPS + N)
    assert TEMUAN["pesan"] in temuan.value
    for kolom in (1, 5, KOLOM_ANGKA_TPS, KOLOM_ANGKA_TPS + N):
        assert ws.cell(r, kolom).fill.fill_type == "solid"
    b = kabupaten["angka"][1]
    assert nilai_baris(ws, r, KOLOM_ANGKA_TPS, N) == [nilai(b, k) for k in KUNCI]
    bersih = baris_dengan(ws, 3, "3517012001001")
    assert ws.cell(bersih, 5).value == LABEL_STATUS["diterima"]
    assert ws.cell(bersih, 1).fill.fill_type is None
    assert ws.cell(bersih, KOLOM_ANGKA_TPS + N).value is None


def test_unreported_tps_marked_with_empty_numbers(kabupaten):
    ws = kabupaten["wb"][LEMBAR_TPS]
    r = baris_dengan(ws, 3, "3517022001002")
    assert ws.cell(r, 5).value == "belum masuk"
    assert ws.cell(r, 6).value is None
    assert nilai_baris(ws, r, KOLOM_ANGKA_TPS, N) == [None] * N  # empty, not 0


def test_tps_totals_count_reported_only(kabupaten):
    ws = kabupaten["wb"][LEMBAR_TPS]
    r = baris_dengan(ws, 1, LABEL_JUMLAH)
    assert r == BARIS_DATA + len(kabupaten["tps"])
    assert nilai_baris(ws, r, KOLOM_ANGKA_TPS, N) == [nilai(kabupaten["rekap"], k) for k in KUNCI]
    assert ws.cell(r, 4).value == "3 dari 6 TPS masuk"


def test_tps_may_be_a_generator_and_a_file_path(tmp_path, kabupaten):
    path = tmp_path / "rekap.xlsx"
    write_workbook(path, kabupaten["rekap"], (t for t in kabupaten["tps"]), KONTES,
                   dibuat=datetime(2024, 2, 20, 12, 30), versi_data="v7")
    wb = load_workbook(path)
    assert wb[LEMBAR_TPS].cell(BARIS_DATA + 5, 3).value == kabupaten["tps"][-1]["kode"]
    assert wb.properties.created == DIBUAT_UTC  # a naive time is taken as UTC


def test_control_characters_are_dropped():
    rekap = wilayah("3517", "JOM\x07BANG", nol(), 0, 1, tingkat="kabupaten", anak=[])
    t = tps("3517012001001", "perlu_periksa", hasil(), [dict(TEMUAN, pesan="salah\x00 baca")])
    wb = tulis(rekap, [t])
    assert wb[LEMBAR_RINGKASAN]["C6"].value == "JOMBANG"
    assert wb[LEMBAR_TPS].cell(BARIS_DATA, KOLOM_ANGKA_TPS + N).value == "salah baca"


# --- Partisipasi ----------------------------------------------------------------------------

def test_partisipasi(kabupaten):
    ws = kabupaten["wb"][LEMBAR_PARTISIPASI]
    anak = kabupaten["rekap"]["anak"][0]
    r = baris_dengan(ws, 2, anak["kode"])
    dpt, pengguna = anak["pemilih"]["dpt"]["j"], anak["pengguna"]["total"]["j"]
    disabilitas = anak["disabilitas"]["j"]
    assert ws.cell(r, 6).value == dpt
    assert ws.cell(r, 9).value == pengguna
    assert ws.cell(r, 12).value == pytest.approx(pengguna / dpt)
    assert ws.cell(r, 13).value == disabilitas
    assert ws.cell(r, 14).value == pytest.approx(disabilitas / pengguna)
    kosong = baris_dengan(ws, 2, "351703")
    assert nilai_baris(ws, kosong, 4, 11) == [0] * 11  # nothing reported: zeros, no division error
    total = baris_dengan(ws, 3, LABEL_JUMLAH)
    rekap = kabupaten["rekap"]
    assert ws.cell(total, 12).value == pytest.approx(rekap["pengguna"]["total"]["j"] / rekap["pemilih"]["dpt"]["j"])


# --- nothing reported yet ----------------------------------------------------------------------

def test_empty_region_is_a_valid_workbook():
    anak = [wilayah(f"35170{i}", f"KEC {i}", nol(), 0, 3) for i in (1, 2)]
    rekap = wilayah("3517", "JOMBANG", nol(), 0, 6, tingkat="kabupaten", anak=anak)
    daftar = [tps(f"35170{i}2001{j:03d}", "belum") for i in (1, 2) for j in (1, 2, 3)]
    wb = tulis(rekap, daftar)
    assert wb.sheetnames == [LEMBAR_RINGKASAN, "Per Kecamatan", LEMBAR_TPS, LEMBAR_PARTISIPASI]
    ws = wb[LEMBAR_RINGKASAN]
    r = baris_dengan(ws, 1, 1)
    assert (ws.cell(r, 3).value, ws.cell(r, 4).value) == (0, 0)
    assert ws.cell(baris_dengan(ws, 2, "TPS belum masuk"), 3).value == 6
    ws = wb["Per Kecamatan"]
    r = baris_dengan(ws, 3, LABEL_JUMLAH)
    assert nilai_baris(ws, r, KOLOM_ANGKA_ANAK, N + 2) == [0] * N + [0, 6]
    ws = wb[LEMBAR_TPS]
    assert [ws.cell(BARIS_DATA + i, 5).value for i in range(6)] == ["belum masuk"] * 6
    assert ws.cell(baris_dengan(ws, 1, LABEL_JUMLAH), 4).value == "0 dari 6 TPS masuk"


def test_region_without_children_or_tps():
    rekap = {"kode": "3517", "nama": "JOMBANG", "tingkat": "kabupaten", "kontes": "ppwp"}
    wb = tulis(rekap, None, kontes={"kode": "ppwp", "nama": "PPWP", "paslon": []})
    ws = wb["Per Kecamatan"]
    assert ws.cell(BARIS_DATA, 3).value == LABEL_JUMLAH
    assert wb[LEMBAR_TPS].cell(BARIS_DATA, 4).value == "0 dari 0 TPS masuk"


# --- property: the totals row is the sum of the children rows ------------------------------------

angka_anak = st.lists(st.integers(min_value=0, max_value=50_000), min_size=N + 3, max_size=N + 3)


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(angka_anak, min_size=0, max_size=8))
def test_totals_row_is_sum_of_children(daftar):
    anak = []
    for i, v in enumerate(daftar):
        r = {"kode": f"3517{i:02d}", "nama": f"KEC {i}", "suara": {}, "pemilih": {"dpt": {}},
             "pengguna": {"dpt": {}, "dptb": {}, "dpk": {}, "total": {}}, "disabilitas": {},
             "surat_suara": {}}
        for kunci, x in zip(KUNCI, v):
            if kunci in ("suara_sah", "suara_tidak_sah", "suara_total"):
                r[kunci] = x
            elif kunci.startswith("suara_"):
                r["suara"][kunci[6:]] = x
            elif kunci.startswith("surat_suara_"):
                r["surat_suara"][kunci[12:]] = x
            elif kunci.startswith("disabilitas_"):
                r["disabilitas"][kunci[12:]] = x
            else:
                bagian = kunci.split("_")
                r[bagian[0]][bagian[1]][bagian[2]] = x
        masuk, perlu, total = sorted(v[N:])
        r["progres"] = {"tps_masuk": masuk, "tps_total": total}
        r["tps_perlu_periksa"] = perlu
        anak.append(r)
    rekap = {"kode": "3517", "nama": "JOMBANG", "tingkat": "kabupaten", "anak": anak}
    ws = tulis(rekap, [])["Per Kecamatan"]
    lebar = N + 4  # the number block, then masuk, total, %, perlu periksa
    baris = [nilai_baris(ws, BARIS_DATA + i, KOLOM_ANGKA_ANAK, lebar) for i in range(len(anak))]
    jumlah = nilai_baris(ws, BARIS_DATA + len(anak), KOLOM_ANGKA_ANAK, lebar)
    assert ws.cell(BARIS_DATA + len(anak), 3).value == LABEL_JUMLAH
    for i in range(lebar):
        if i == N + 2:  # the progress share is a ratio of the totals, not a sum
            masuk, total = jumlah[N], jumlah[N + 1]
            assert jumlah[i] == pytest.approx(masuk / total if total else 0.0)
        else:
            assert jumlah[i] == sum(b[i] for b in baris)


# --- TPS as stored (flat angka), as the export service streams them ------------------------------

def test_stored_flat_angka_gives_the_same_tps_row_as_the_nested_json(kabupaten):
    from shared.domain.hasil import ratakan

    def flat(body):
        isian = {**body, "pengguna": {k: v for k, v in body["pengguna"].items() if k != "total"}}
        return ratakan(isian)

    nested = kabupaten["tps"]
    stored = []
    for t in nested:
        t = dict(t)
        if t["status"] != "belum":
            numbers = {k: t.pop(k) for k in ("suara", "suara_sah", "suara_tidak_sah", "suara_total", "pemilih",
                                              "pengguna", "disabilitas", "surat_suara")}
            t["angka"] = flat(numbers)
        else:
            t["angka"] = None
        stored.append(t)
    a = tulis(kabupaten["rekap"], iter(nested))[LEMBAR_TPS]
    b = tulis(kabupaten["rekap"], iter(stored))[LEMBAR_TPS]
    for r in range(BARIS_DATA, BARIS_DATA + len(nested) + 1):
        assert nilai_baris(a, r, 1, KOLOM_ANGKA_TPS + N) == nilai_baris(b, r, 1, KOLOM_ANGKA_TPS + N)


def test_tps_not_yet_in_the_recap_are_flagged(kabupaten):
    """A TPS submitted after the last rollup: the TPS sheet says its sum differs from the recap."""
    a = hasil()
    baru = kabupaten["tps"] + [tps("3517032001003", "diterima", a)]
    ws = tulis(kabupaten["rekap"], iter(baru))[LEMBAR_TPS]
    r = baris_dengan(ws, 1, LABEL_REKAP)
    assert ws.cell(r, 1).fill.fill_type == "solid"
    assert nilai_baris(ws, r, KOLOM_ANGKA_TPS, N) == [nilai(kabupaten["rekap"], k) for k in KUNCI]
    rapi = kabupaten["wb"][LEMBAR_TPS]  # every TPS in the recap: nothing to flag
    assert all(rapi.cell(x, 1).value != LABEL_REKAP for x in range(1, rapi.max_row + 1))


def test_national_level_and_cache_key_in_properties():
    rekap = wilayah("0", "INDONESIA", nol(), 0, 0, tingkat="nasional", anak=[])
    buf = io.BytesIO()
    write_workbook(buf, rekap, [], KONTES, dibuat=DIBUAT, versi_data=3, sidik="abc123")
    buf.seek(0)
    wb = load_workbook(buf)
    assert wb.sheetnames[1] == "Per Provinsi"
    assert wb.properties.identifier == "abc123"
