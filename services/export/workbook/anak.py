"""The children sheet (``Per Kecamatan``, ``Per Desa``, ...): one row per child
region with every C.Hasil block, a ``JUMLAH`` row computed here in Python, a
``JUMLAH (rumus)`` row of SUM formulas beside it for whoever checks in Excel,
and the paslon shares. When the children do not add up to the region's own
recap, the region's row is shown apart, highlighted."""

from __future__ import annotations

from openpyxl.utils import get_column_letter

from services.export.workbook import kolom
from services.export.workbook.gaya import Gaya, Templat, judul, kepala_dua_baris, sel, siapkan
from services.export.workbook.konteks import Konteks
from services.export.workbook.nilai import bagi, teks
from services.export.workbook.tata import (
    BARIS_DATA, BARIS_KEPALA, KOLOM_ANGKA_ANAK, LABEL_JUMLAH, LABEL_JUMLAH_RUMUS, LABEL_REKAP,
)


def tulis(wb, g: Gaya, k: Konteks) -> None:
    ws = wb.create_sheet(k.tingkat.lembar)
    n_paslon = len(k.paslon)
    n_angka = k.n_angka
    lebar = [5, 13, 24] + [9.5] * n_angka + [8, 8, 9, 9] + [9] * n_paslon
    siapkan(ws, lebar, beku=f"{get_column_letter(KOLOM_ANGKA_ANAK)}{BARIS_DATA}",
            judul_baris=f"1:{BARIS_KEPALA}", judul_kolom="A:C", satu_halaman=False,
            catatan_kaki=k.catatan_kaki)
    ws.row_dimensions[BARIS_KEPALA].height = 30
    judul(ws, g, k.judul, f"{k.nama_kontes} - rincian per {k.tingkat.label_anak.lower()}")
    kelompok = [(nama, [sub for _, sub in isi]) for nama, isi in k.kelompok]
    kelompok += [
        ("Progres TPS", ["Masuk", "Total", "%"]),
        ("Perlu periksa", ["TPS"]),
        ("Persentase suara paslon", [p.label for p in k.paslon]),
    ]
    kepala_dua_baris(ws, g, ["No", "Kode", k.tingkat.label_anak], kelompok)

    awal = KOLOM_ANGKA_ANAK - 1  # 0-based index of the number block
    i_masuk = awal + n_angka
    persen_kolom = [i_masuk + 2] + [i_masuk + 4 + i for i in range(n_paslon)]
    templat = Templat(ws, {i: g.PERSEN for i in persen_kolom})

    jumlah = [0] * n_angka
    jumlah_tps = [0, 0, 0]
    anak = k.rekap.get("anak") or []
    for no, r in enumerate(anak, 1):
        angka = kolom.angka(r, k.kunci_paslon, 0)
        jumlah = kolom.tambah(jumlah, angka)
        masuk, total, perlu = kolom.progres(r)
        jumlah_tps[0] += masuk
        jumlah_tps[1] += total
        jumlah_tps[2] += perlu
        sah = angka[k.i_sah]
        baris = [no, teks(str(r.get("kode") or "")), teks(r.get("nama") or "")]
        baris += angka
        baris += (masuk, total, bagi(masuk, total), perlu)
        baris += [bagi(angka[kolom.I_SUARA + i], sah) for i in range(n_paslon)]
        ws.append(templat.isi(baris))

    # JUMLAH: computed here, stored as numbers
    sah = jumlah[k.i_sah]
    masuk, total, perlu = jumlah_tps
    baris = [None, None, LABEL_JUMLAH] + jumlah
    baris += [masuk, total, bagi(masuk, total), perlu]
    baris += [bagi(jumlah[kolom.I_SUARA + i], sah) for i in range(n_paslon)]
    gaya = {i: g.JUMLAH_ANGKA for i in range(len(baris))}
    gaya.update({i: g.JUMLAH_PERSEN for i in persen_kolom})
    gaya[2] = gaya[0] = gaya[1] = g.JUMLAH
    ws.append(Templat(ws, gaya).isi(baris))

    if anak:
        # the same sums as formulas, for whoever checks the sheet in Excel
        pertama, terakhir = BARIS_DATA, BARIS_DATA + len(anak) - 1
        baris = [None, None, sel(ws, g.RUMUS, LABEL_JUMLAH_RUMUS)]
        for i in range(awal, i_masuk + 4):
            if i == i_masuk + 2:
                baris.append(None)
                continue
            huruf = get_column_letter(i + 1)
            baris.append(sel(ws, g.RUMUS, f"=SUM({huruf}{pertama}:{huruf}{terakhir})"))
        ws.append(baris)

    # the children must add up to the region's own recap; say so when they do not
    rekap = kolom.angka(k.rekap, k.kunci_paslon, 0)
    rekap_tps = list(kolom.progres(k.rekap))
    if anak and (rekap != jumlah or rekap_tps != jumlah_tps):
        ws.append([])
        baris = [None, None, LABEL_REKAP] + rekap + rekap_tps[:2] + [None, rekap_tps[2]]
        ws.append([sel(ws, g.SELISIH, v) for v in baris])
        ws.append([sel(ws, g.SELISIH, "Catatan: jumlah rincian berbeda dengan rekap wilayah; "
                                       "jalankan `rekap verify`.")])
    ws.append([])
    ws.append([sel(ws, g.CATATAN, f"Persentase suara paslon dihitung dari suara sah; "
                                  f"progres = TPS masuk / TPS seluruhnya. "
                                  f"{k.tingkat.label_anak} tanpa TPS masuk bernilai 0.")])
    ws.merged_cells.add(f"A1:{get_column_letter(min(len(lebar), 12))}1")
