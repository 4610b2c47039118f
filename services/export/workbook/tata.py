"""The layout: sheet names, where the header and the data start, labels, and
what each region level is called on its sheets."""

from __future__ import annotations

from dataclasses import dataclass

LEMBAR_RINGKASAN = "Ringkasan"
LEMBAR_TPS = "TPS"
LEMBAR_PARTISIPASI = "Partisipasi"

#: Rows 1-2 carry the title, rows 3-4 the two-level column header; data from row 5.
BARIS_KEPALA = 4
BARIS_DATA = 5
#: 1-based column where the number block starts: after No, Kode, Nama on the
#: children sheet; after Kecamatan, Desa, Kode TPS, TPS, Status, Versi on the TPS sheet.
KOLOM_ANGKA_ANAK = 4
KOLOM_ANGKA_TPS = 7

LABEL_STATUS = {
    "diterima": "diterima",
    "perlu_periksa": "perlu periksa",
    "belum": "belum masuk",
}
LABEL_JUMLAH = "JUMLAH"
LABEL_JUMLAH_RUMUS = "JUMLAH (rumus)"
LABEL_REKAP = "Rekap wilayah"


@dataclass(frozen=True)
class Tingkat:
    label: str  # the region's own level, as a heading
    label_anak: str  # its children's level
    lembar: str  # the children sheet's name
    formulir: str  # the form the workbook stands for


TINGKAT = {
    "nasional": Tingkat("Nasional", "Provinsi", "Per Provinsi", "D.HASIL NASIONAL"),
    "provinsi": Tingkat("Provinsi", "Kabupaten/Kota", "Per Kabupaten", "D.HASIL PROVINSI"),
    "kabupaten": Tingkat("Kabupaten/Kota", "Kecamatan", "Per Kecamatan", "D.HASIL KABUPATEN/KOTA"),
    "kota": Tingkat("Kabupaten/Kota", "Kecamatan", "Per Kecamatan", "D.HASIL KABUPATEN/KOTA"),
    "kecamatan": Tingkat("Kecamatan", "Desa/Kelurahan", "Per Desa", "D.HASIL KECAMATAN"),
    "desa": Tingkat("Desa/Kelurahan", "TPS", "Per TPS", "REKAP DESA/KELURAHAN"),
    "kelurahan": Tingkat("Desa/Kelurahan", "TPS", "Per TPS", "REKAP DESA/KELURAHAN"),
}
TINGKAT_LAIN = Tingkat("Wilayah", "Wilayah", "Rincian", "REKAPITULASI")


def tingkat(nama: str | None) -> Tingkat:
    return TINGKAT.get(nama or "", TINGKAT_LAIN)


def lembar_anak(nama: str) -> str:
    """Name of the children sheet for a region of this ``tingkat``."""
    return tingkat(nama).lembar


def sebutan(nama_tingkat: str | None, nama: str) -> str:
    """How a region is named in a title: KABUPATEN JOMBANG, KOTA SURABAYA, KECAMATAN PLOSO."""
    nama = nama.strip()
    if nama_tingkat in ("kabupaten", "kota"):
        return nama if nama.upper().startswith("KOTA ") else f"KABUPATEN {nama}"
    awalan = {"provinsi": "PROVINSI", "kecamatan": "KECAMATAN", "desa": "DESA/KELURAHAN",
              "kelurahan": "KELURAHAN"}.get(nama_tingkat or "")
    return f"{awalan} {nama}" if awalan else nama
