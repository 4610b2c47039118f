"""``Partisipasi``: turnout and voters with disabilities (C.Hasil section III)
per child region, with a ``JUMLAH`` row."""

from __future__ import annotations

from services.export.workbook import kolom
from services.export.workbook.gaya import Gaya, Templat, judul, kepala_dua_baris, sel, siapkan
from services.export.workbook.konteks import Konteks
from services.export.workbook.nilai import bagi, teks
from services.export.workbook.tata import BARIS_DATA, BARIS_KEPALA, LABEL_JUMLAH, LEMBAR_PARTISIPASI

PERSEN_KOLOM = (9, 10, 11, 13, 16)
ANGKA_KOLOM = (3, 4, 5, 6, 7, 8, 12, 14, 15)


def _baris(no, kode, nama, a, masuk, total) -> list:
    dpt = a[kolom.I_DPT_L:kolom.I_DPT_J + 1]
    pengguna = a[kolom.I_PENGGUNA_L:kolom.I_PENGGUNA_J + 1]
    disabilitas = a[kolom.I_DISABILITAS_J]
    return [no, kode, nama, *dpt, *pengguna,
            *(bagi(x, y) for x, y in zip(pengguna, dpt)),
            disabilitas, bagi(disabilitas, pengguna[2]),
            masuk, total, bagi(masuk, total)]


def tulis(wb, g: Gaya, k: Konteks) -> None:
    ws = wb.create_sheet(LEMBAR_PARTISIPASI)
    lebar = [5, 13, 24, 11, 11, 11, 11, 11, 11, 10, 10, 10, 12, 12, 9, 9, 9]
    siapkan(ws, lebar, beku=f"D{BARIS_DATA}", judul_baris=f"1:{BARIS_KEPALA}", judul_kolom=None,
            satu_halaman=True, catatan_kaki=k.catatan_kaki)
    ws.row_dimensions[BARIS_KEPALA].height = 30
    judul(ws, g, k.judul, f"{k.nama_kontes} - partisipasi pemilih dan pemilih disabilitas")
    kepala_dua_baris(ws, g, ["No", "Kode", k.tingkat.label_anak], [
        ("Pemilih terdaftar (DPT)", kolom.LPJ),
        ("Pengguna hak pilih", kolom.LPJ),
        ("Partisipasi (%)", kolom.LPJ),
        ("Pemilih disabilitas", ["J", "% dari pengguna"]),
        ("Progres TPS", ["Masuk", "Total", "%"]),
    ])
    templat = Templat(ws, {**{i: g.ANGKA for i in ANGKA_KOLOM}, **{i: g.PERSEN for i in PERSEN_KOLOM}})

    jumlah = [0] * k.n_angka
    jumlah_masuk = jumlah_total = 0
    for no, r in enumerate(k.rekap.get("anak") or [], 1):
        a = kolom.angka(r, k.kunci_paslon, 0)
        jumlah = kolom.tambah(jumlah, a)
        masuk, total, _ = kolom.progres(r)
        jumlah_masuk += masuk
        jumlah_total += total
        ws.append(templat.isi(_baris(no, teks(str(r.get("kode") or "")), teks(r.get("nama") or ""),
                                     a, masuk, total)))
    baris = _baris(None, None, LABEL_JUMLAH, jumlah, jumlah_masuk, jumlah_total)
    gaya = {i: g.JUMLAH_ANGKA for i in range(len(baris))}
    gaya.update({i: g.JUMLAH_PERSEN for i in PERSEN_KOLOM})
    gaya[0] = gaya[1] = gaya[2] = g.JUMLAH
    ws.append(Templat(ws, gaya).isi(baris))
    ws.append([])
    ws.append([sel(ws, g.CATATAN, "Partisipasi = pengguna hak pilih / DPT, dari TPS yang sudah masuk. "
                                  "Pemilih disabilitas: C.Hasil bagian III.")])
    ws.merged_cells.add("A1:M1")
