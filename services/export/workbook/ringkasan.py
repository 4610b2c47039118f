"""``Ringkasan``: the region's totals as the form's sections I to V, progress,
when the file was made and from which data version."""

from __future__ import annotations

from datetime import datetime

from services.export.workbook import kolom
from services.export.workbook.gaya import Gaya, sel, siapkan
from services.export.workbook.konteks import Konteks
from services.export.workbook.nilai import bagi, teks, waktu_utc
from services.export.workbook.tata import LEMBAR_RINGKASAN

CATATAN = (
    "Angka adalah jumlah C.Hasil TPS yang sudah masuk; TPS yang belum masuk belum dihitung. "
    "TPS perlu periksa sudah dihitung, tetapi ada isian formulir yang tidak sesuai "
    "(lihat lembar TPS)."
)


def tulis(wb, g: Gaya, k: Konteks) -> None:
    ws = wb.create_sheet(LEMBAR_RINGKASAN)
    siapkan(ws, [9, 62, 16, 16, 16], beku="A4", judul_baris="1:3", judul_kolom=None,
            satu_halaman=True, catatan_kaki=k.catatan_kaki)
    r = k.rekap
    a = kolom.angka(r, k.kunci_paslon, 0)
    sah = a[k.i_sah]
    masuk, total_tps, perlu = kolom.progres(r)

    def label(isi):
        return sel(ws, g.LABEL, isi)

    def angka(nilai):
        return sel(ws, g.ANGKA, nilai)

    def persen(nilai):
        return sel(ws, g.PERSEN, nilai)

    def kepala(*isi):
        ws.append([sel(ws, g.KEPALA, t) for t in isi])

    ws.append([sel(ws, g.JUDUL, f"{k.tingkat.formulir} - REKAPITULASI HASIL PENGHITUNGAN PEROLEHAN SUARA")])
    ws.append([sel(ws, g.SUBJUDUL, k.nama_kontes)])
    ws.append([sel(ws, g.SUBJUDUL, k.judul)])
    ws.append([])
    ws.append([label("Kode wilayah"), None, teks(str(r.get("kode") or ""))])
    ws.append([label("Nama wilayah"), None, teks(r.get("nama") or "")])
    ws.append([label("Tingkat"), None, k.tingkat.label])
    ws.append([label("Kontes"), None, teks(f"{k.kontes.get('kode') or r.get('kontes') or ''} - {k.nama_kontes}")])
    ws.append([])

    kepala("No. urut", "IV. Perolehan suara pasangan calon", "Suara", "Persentase dari suara sah")
    for i, p in enumerate(k.paslon):
        suara = a[kolom.I_SUARA + i]
        nomor = p.nomor if isinstance(p.nomor, int) else teks(str(p.nomor))
        ws.append([nomor, teks(p.nama), angka(suara), persen(bagi(suara, sah))])
    ws.append(["V.A", "Jumlah suara sah", angka(sah), persen(1.0 if sah else 0.0)])
    ws.append(["V.B", "Jumlah suara tidak sah", angka(a[k.i_sah + 1])])
    ws.append(["V.C", "Jumlah seluruh suara (sah + tidak sah)", angka(a[k.i_sah + 2])])
    ws.append([])

    kepala("I.", "Data pemilih dan pengguna hak pilih", "L", "P", "J")
    for kode, isi, i in (
        ("A.", "Pemilih terdaftar dalam DPT", kolom.I_DPT_L),
        ("B.1", "Pengguna hak pilih dalam DPT", 3),
        ("B.2", "Pengguna hak pilih dalam DPTb (pindahan)", 6),
        ("B.3", "Pengguna hak pilih dalam DPK (KTP-el)", 9),
        ("B.4", "Jumlah pengguna hak pilih (B.1 + B.2 + B.3)", kolom.I_PENGGUNA_L),
    ):
        ws.append([kode, isi, angka(a[i]), angka(a[i + 1]), angka(a[i + 2])])
    ws.append([])

    kepala("II.", "Data penggunaan surat suara", "Jumlah")
    for kode, isi, i in (
        ("1.", "Surat suara diterima (termasuk cadangan 2%)", kolom.I_SURAT_SUARA),
        ("2.", "Surat suara digunakan", kolom.I_SURAT_SUARA + 1),
        ("3.", "Surat suara dikembalikan (rusak atau keliru coblos)", kolom.I_SURAT_SUARA + 2),
        ("4.", "Surat suara tidak digunakan (sisa)", kolom.I_SURAT_SUARA + 3),
    ):
        ws.append([kode, isi, angka(a[i])])
    ws.append([])

    i = kolom.I_DISABILITAS_L
    kepala("III.", "Pemilih disabilitas yang menggunakan hak pilih", "L", "P", "J")
    ws.append([None, "Pemilih disabilitas", angka(a[i]), angka(a[i + 1]), angka(a[i + 2])])
    ws.append([None, "Persentase dari jumlah pengguna hak pilih (J)", None, None,
               persen(bagi(a[kolom.I_DISABILITAS_J], a[kolom.I_PENGGUNA_J]))])
    ws.append([])

    kepala("", "Partisipasi dan progres", "Nilai")
    ws.append([None, "Partisipasi pemilih (pengguna hak pilih J / DPT J)",
               persen(bagi(a[kolom.I_PENGGUNA_J], a[kolom.I_DPT_J]))])
    ws.append([None, "TPS masuk", angka(masuk)])
    ws.append([None, "TPS seluruhnya", angka(total_tps)])
    ws.append([None, "Progres TPS masuk", persen(bagi(masuk, total_tps))])
    ws.append([None, "TPS belum masuk", angka(max(total_tps - masuk, 0))])
    ws.append([None, "TPS perlu periksa (ada temuan)", angka(perlu)])
    ws.append([])

    diperbarui = waktu_utc(r.get("diperbarui"))
    ws.append([label("Data diperbarui (UTC)"), None,
               sel(ws, g.WAKTU, diperbarui) if isinstance(diperbarui, datetime) else (diperbarui or "-")])
    ws.append([label("Dibuat (UTC)"), None, sel(ws, g.WAKTU, waktu_utc(k.dibuat))])
    ws.append([label("Versi data"), None, teks(k.versi_data)])
    ws.append([])
    ws.append([sel(ws, g.CATATAN, CATATAN)])
    ws.merged_cells.add("A1:E1")
    ws.merged_cells.add("A2:E2")
    ws.merged_cells.add("A3:E3")
