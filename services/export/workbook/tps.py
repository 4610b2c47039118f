"""``TPS``: every TPS under the region, reported or not, streamed: status,
version, the numbers and the findings. ``perlu_periksa`` rows are filled,
unreported TPS say ``belum masuk`` and leave their numbers empty (not 0).

A TPS record carries its numbers either in the API's nested shape or as the
stored flat ``angka`` (what the export service streams from the database).
Ordinary rows are plain value lists, so the big sheet costs about what
unstyled writing costs. The records are consumed once, as a stream.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from openpyxl.utils import get_column_letter

from services.export.workbook import kolom
from services.export.workbook.gaya import Gaya, Templat, judul, kepala_dua_baris, sel, siapkan
from services.export.workbook.konteks import Konteks
from services.export.workbook.nilai import teks
from services.export.workbook.tata import (
    BARIS_DATA, BARIS_KEPALA, KOLOM_ANGKA_TPS, LABEL_JUMLAH, LABEL_REKAP, LABEL_STATUS, LEMBAR_TPS,
)

IDENTITAS = ["Kecamatan", "Desa/Kelurahan", "Kode TPS", "TPS", "Status", "Versi"]


def _temuan(daftar) -> str | None:
    if not daftar:
        return None
    return teks("; ".join(str(x.get("pesan") or x.get("message") or x.get("kode") or "") for x in daftar))


def tulis(wb, g: Gaya, k: Konteks, tps: Iterable[Mapping[str, Any]]) -> None:
    ws = wb.create_sheet(LEMBAR_TPS)
    n_angka = k.n_angka
    lebar = [18, 20, 16, 9, 14, 6] + [8.5] * n_angka + [70]
    siapkan(ws, lebar, beku=f"{get_column_letter(KOLOM_ANGKA_TPS)}{BARIS_DATA}",
            judul_baris=f"1:{BARIS_KEPALA}", judul_kolom="A:D", satu_halaman=False,
            catatan_kaki=k.catatan_kaki)
    ws.row_dimensions[BARIS_KEPALA].height = 30
    judul(ws, g, k.judul, f"{k.nama_kontes} - hasil per TPS (C.Hasil)")
    kelompok = [(nama, [sub for _, sub in isi]) for nama, isi in k.kelompok]
    kelompok.append(("Temuan", ["Temuan pemeriksaan C.Hasil"]))
    kepala_dua_baris(ws, g, IDENTITAS, kelompok)

    n_kolom = len(IDENTITAS) + n_angka + 1
    i_status = IDENTITAS.index("Status")
    periksa = Templat(ws, {**{i: g.PERIKSA for i in range(n_kolom - 1)}, n_kolom - 1: g.PERIKSA_TEMUAN})
    belum = Templat(ws, {i_status: g.BELUM})
    kosong = [None] * n_angka
    label_status = LABEL_STATUS
    label_belum = LABEL_STATUS["belum"]
    kunci_paslon = k.kunci_paslon
    angka_dari = kolom.angka
    baca = kolom.pembaca(kunci_paslon)
    tambah = kolom.tambah
    append = ws.append
    nama_aman: dict[Any, Any] = {}  # names repeat: clean each once

    jumlah = [0] * n_angka
    n_tps = n_masuk = n_perlu = 0
    for t in tps:
        n_tps += 1
        kec = t.get("nama_kecamatan")
        desa = t.get("nama_desa")
        try:
            kec = nama_aman[kec]
        except KeyError:
            kec = nama_aman[kec] = teks(kec)
        try:
            desa = nama_aman[desa]
        except KeyError:
            desa = nama_aman[desa] = teks(desa)
        status = t.get("status") or "belum"
        temuan = _temuan(t.get("temuan"))
        if status == "belum":
            baris = [kec, desa, teks(t.get("kode")), teks(t.get("nama")), label_belum, t.get("versi")]
            baris += kosong
            baris.append(temuan)
            append(belum.isi(baris))
            continue
        n_masuk += 1
        tersimpan = t.get("angka")
        angka = baca(tersimpan) if tersimpan is not None else angka_dari(t, kunci_paslon, None)
        jumlah = tambah(jumlah, angka)
        baris = [kec, desa, teks(t.get("kode")), teks(t.get("nama")),
                 label_status.get(status, status), t.get("versi")]
        baris += angka
        baris.append(temuan)
        if status == "perlu_periksa":
            n_perlu += 1
            append(periksa.isi(baris))
        else:
            append(baris)

    gaya = {i: g.JUMLAH_ANGKA for i in range(n_kolom)}
    gaya.update({i: g.JUMLAH for i in range(KOLOM_ANGKA_TPS - 1)})
    baris = [LABEL_JUMLAH, None, None, f"{n_masuk} dari {n_tps} TPS masuk", None, None] + jumlah + [
        f"{n_perlu} TPS perlu periksa" if n_perlu else None]
    append(Templat(ws, gaya).isi(baris))

    # TPS just submitted may not be rolled up into the region's recap yet: say so
    rekap = kolom.angka(k.rekap, kunci_paslon, 0)
    masuk, total, perlu = kolom.progres(k.rekap)
    if n_tps and (rekap != jumlah or (masuk, total, perlu) != (n_masuk, n_tps, n_perlu)):
        append([])
        baris = [LABEL_REKAP, None, None, f"{masuk} dari {total} TPS masuk", None, None] + rekap + [
            f"{perlu} TPS perlu periksa" if perlu else None]
        append([sel(ws, g.SELISIH, v) for v in baris])
        append([sel(ws, g.SELISIH, "Catatan: jumlah TPS berbeda dengan rekap wilayah; hasil terbaru "
                                   "mungkin belum direkap. Unduh ulang sebentar lagi atau jalankan "
                                   "`rekap verify`.")])
    append([])
    append([sel(ws, g.CATATAN, "Baris berwarna: TPS perlu periksa (dihitung, ada temuan). "
                               "TPS belum masuk: angka dikosongkan, bukan nol.")])
    ws.merged_cells.add("A1:L1")
