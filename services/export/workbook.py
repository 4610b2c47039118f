"""D.Hasil workbook writer: the recap of one region as an .xlsx file.

Pure: plain dicts in (the recap JSON of the export API), a file out. No Flask,
no database, no Celery, so the export service, `rekap demo` and the tests all
call the same function.

Layout (labels in Bahasa Indonesia, in the spirit of KPU's D.Hasil forms):

- ``Ringkasan``: the region's totals as the form's sections I to V, progress,
  when the file was made and from which data version.
- ``Per Kecamatan`` / ``Per Desa`` / ``Per TPS`` / ``Per Kabupaten`` (see
  :func:`lembar_anak`): one row per child region with every C.Hasil block,
  a ``JUMLAH`` row computed here in Python, a ``JUMLAH (rumus)`` row of SUM
  formulas beside it for whoever checks in Excel, and the paslon shares.
- ``TPS``: every TPS under the region, reported or not, streamed: status,
  version, the numbers and the findings; ``perlu_periksa`` rows are filled,
  unreported TPS say ``belum masuk`` and leave their numbers empty.
- ``Partisipasi``: turnout and voters with disabilities per child region.

Speed: the workbook is written in openpyxl write-only mode. Styles are
named styles registered once per workbook; styled cells come from template
``WriteOnlyCell`` objects made once per sheet and column and reused for every
row (openpyxl serialises a row as soon as it is appended, so reuse is safe).
Ordinary TPS rows are plain value lists, so the big sheet costs about what
unstyled writing costs. ``tps`` is consumed once, as a stream.
"""

from __future__ import annotations

import operator
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any, Iterable, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter

__all__ = [
    "write_workbook",
    "lembar_anak",
    "kunci_angka",
    "LEMBAR_RINGKASAN",
    "LEMBAR_TPS",
    "LEMBAR_PARTISIPASI",
    "BARIS_KEPALA",
    "BARIS_DATA",
    "KOLOM_ANGKA_ANAK",
    "KOLOM_ANGKA_TPS",
    "LABEL_STATUS",
    "LABEL_JUMLAH",
    "LABEL_JUMLAH_RUMUS",
]

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


@dataclass(frozen=True)
class _Tingkat:
    label: str  # the region's own level, as a heading
    label_anak: str  # its children's level
    lembar: str  # the children sheet's name
    formulir: str  # the form the workbook stands for


_TINGKAT = {
    "provinsi": _Tingkat("Provinsi", "Kabupaten/Kota", "Per Kabupaten", "D.HASIL PROVINSI"),
    "kabupaten": _Tingkat("Kabupaten/Kota", "Kecamatan", "Per Kecamatan", "D.HASIL KABUPATEN/KOTA"),
    "kota": _Tingkat("Kabupaten/Kota", "Kecamatan", "Per Kecamatan", "D.HASIL KABUPATEN/KOTA"),
    "kecamatan": _Tingkat("Kecamatan", "Desa/Kelurahan", "Per Desa", "D.HASIL KECAMATAN"),
    "desa": _Tingkat("Desa/Kelurahan", "TPS", "Per TPS", "REKAP DESA/KELURAHAN"),
    "kelurahan": _Tingkat("Desa/Kelurahan", "TPS", "Per TPS", "REKAP DESA/KELURAHAN"),
}
_TINGKAT_LAIN = _Tingkat("Wilayah", "Wilayah", "Rincian", "REKAPITULASI")


def lembar_anak(tingkat: str) -> str:
    """Name of the children sheet for a region of this ``tingkat``."""
    return _TINGKAT.get(tingkat, _TINGKAT_LAIN).lembar


# --- the number block: the C.Hasil sections in form order -----------------

_LPJ = ("L", "P", "J")
# (group header, [(key, column header)])
_BLOK_AWAL = [
    ("I.A Pemilih terdaftar (DPT)", [("pemilih_dpt_" + x.lower(), x) for x in _LPJ]),
    ("I.B.1 Pengguna hak pilih DPT", [("pengguna_dpt_" + x.lower(), x) for x in _LPJ]),
    ("I.B.2 Pengguna DPTb (pindahan)", [("pengguna_dptb_" + x.lower(), x) for x in _LPJ]),
    ("I.B.3 Pengguna DPK (KTP-el)", [("pengguna_dpk_" + x.lower(), x) for x in _LPJ]),
    ("I.B.4 Jumlah pengguna hak pilih", [("pengguna_total_" + x.lower(), x) for x in _LPJ]),
    ("II. Surat suara", [
        ("surat_suara_diterima", "Diterima"),
        ("surat_suara_digunakan", "Digunakan"),
        ("surat_suara_dikembalikan", "Dikembalikan"),
        ("surat_suara_sisa", "Sisa"),
    ]),
    ("III. Pemilih disabilitas", [("disabilitas_" + x.lower(), x) for x in _LPJ]),
]
_BLOK_AKHIR = ("V. Jumlah suara", [
    ("suara_sah", "Sah"),
    ("suara_tidak_sah", "Tidak sah"),
    ("suara_total", "Total"),
])
_N_AWAL = sum(len(k) for _, k in _BLOK_AWAL)  # 22 columns before the paslon votes

# positions inside the number block (0-based)
_I_DPT_L, _I_DPT_P, _I_DPT_J = 0, 1, 2
_I_PENGGUNA_L, _I_PENGGUNA_P, _I_PENGGUNA_J = 12, 13, 14
_I_DISABILITAS_J = 21
_I_SUARA = _N_AWAL  # first paslon


@dataclass(frozen=True)
class _Paslon:
    nomor: int | str
    kunci: str
    nama: str

    @property
    def label(self) -> str:
        try:
            return f"{int(self.nomor):02d}"
        except (TypeError, ValueError):
            return str(self.nomor)


def _daftar_paslon(kontes: Mapping[str, Any], rekap: Mapping[str, Any]) -> list[_Paslon]:
    daftar = [
        _Paslon(p.get("nomor_urut"), str(p.get("nomor_urut")), p.get("nama") or "")
        for p in (kontes.get("paslon") or [])
    ]
    if not daftar:  # no definition at hand: use the numbers the recap carries
        daftar = [_Paslon(k, str(k), "") for k in (rekap.get("suara") or {})]

    def urut(p: _Paslon):
        try:
            return (0, int(p.nomor), "")
        except (TypeError, ValueError):
            return (1, 0, str(p.nomor))

    return sorted(daftar, key=urut)


def _kelompok(paslon: Sequence[_Paslon]) -> list[tuple[str, list[tuple[str, str]]]]:
    suara = ("IV. Perolehan suara paslon", [("suara_" + p.kunci, p.label) for p in paslon])
    return [*_BLOK_AWAL, suara, _BLOK_AKHIR]


def kunci_angka(kontes: Mapping[str, Any]) -> list[str]:
    """Stable keys of the number block's columns, in sheet order.

    ``pemilih_dpt_l`` ... ``surat_suara_sisa``, ``disabilitas_l/p/j``,
    ``suara_<nomor urut>`` per paslon, ``suara_sah``, ``suara_tidak_sah``,
    ``suara_total``. The block starts at :data:`KOLOM_ANGKA_ANAK` on the
    children sheet and at :data:`KOLOM_ANGKA_TPS` on the TPS sheet.
    """
    return [k for _, kolom in _kelompok(_daftar_paslon(kontes, {})) for k, _ in kolom]


_KOSONG: Mapping[str, Any] = {}


def _lpj(d: Mapping[str, Any] | None, bawaan):
    if not d:
        return bawaan, bawaan, bawaan
    l = d.get("l", bawaan)
    p = d.get("p", bawaan)
    j = d.get("j")
    if j is None:
        j = l + p if (l is not None and p is not None) else bawaan
    return l, p, j


def _angka(r: Mapping[str, Any], paslon: Sequence[tuple[str, int | None]], bawaan) -> list:
    """The number block of one record (recap, child or TPS) as a flat list."""
    pengguna = r.get("pengguna") or _KOSONG
    surat = r.get("surat_suara") or _KOSONG
    suara = r.get("suara") or _KOSONG
    g = r.get
    hasil = [
        *_lpj((g("pemilih") or _KOSONG).get("dpt"), bawaan),
        *_lpj(pengguna.get("dpt"), bawaan),
        *_lpj(pengguna.get("dptb"), bawaan),
        *_lpj(pengguna.get("dpk"), bawaan),
        *_lpj(pengguna.get("total"), bawaan),
        surat.get("diterima", bawaan),
        surat.get("digunakan", bawaan),
        surat.get("dikembalikan", bawaan),
        surat.get("sisa", bawaan),
        *_lpj(g("disabilitas"), bawaan),
    ]
    for kunci, nomor in paslon:
        v = suara.get(kunci)
        if v is None:
            v = suara.get(nomor, bawaan)
        hasil.append(v)
    hasil.append(g("suara_sah", bawaan))
    hasil.append(g("suara_tidak_sah", bawaan))
    hasil.append(g("suara_total", bawaan))
    return hasil


def _tambah(jumlah: list, angka: list) -> list:
    try:
        return list(map(operator.add, jumlah, angka))
    except TypeError:  # a missing number in a record: count what is there
        return [a + b if b is not None else a for a, b in zip(jumlah, angka)]


def _bagi(a, b) -> float:
    return a / b if a and b else 0.0


def _progres(r: Mapping[str, Any]) -> tuple[int, int, int]:
    """(TPS masuk, TPS total, perlu periksa) of a region, or of a TPS listed as a child."""
    progres = r.get("progres")
    if progres is None and "status" in r:  # a TPS as the child of a desa
        status = r.get("status") or "belum"
        return (0 if status == "belum" else 1), 1, (1 if status == "perlu_periksa" else 0)
    progres = progres or _KOSONG
    return (
        progres.get("tps_masuk") or 0,
        progres.get("tps_total") or 0,
        r.get("tps_perlu_periksa") or 0,
    )


def _teks(nilai: Any) -> Any:
    """Text safe for a cell (control characters dropped)."""
    if isinstance(nilai, str):
        return ILLEGAL_CHARACTERS_RE.sub("", nilai)
    return nilai


def _waktu_utc(nilai: Any) -> Any:
    """A datetime (or ISO string) as a naive UTC datetime, which Excel can hold."""
    if isinstance(nilai, str):
        try:
            nilai = datetime.fromisoformat(nilai)
        except ValueError:
            return _teks(nilai)
    if isinstance(nilai, datetime) and nilai.tzinfo is not None:
        nilai = nilai.astimezone(timezone.utc).replace(tzinfo=None)
    return nilai


# --- styles ----------------------------------------------------------------

_FORMAT_PERSEN = "0.00%"
_FORMAT_RIBUAN = "#,##0"
_FORMAT_WAKTU = "yyyy-mm-dd hh:mm:ss"


class _Gaya:
    """The workbook's named styles, made and registered once per workbook."""

    JUDUL = "rekap judul"
    SUBJUDUL = "rekap subjudul"
    CATATAN = "rekap catatan"
    KEPALA = "rekap kepala"
    LABEL = "rekap label"
    ANGKA = "rekap angka"
    PERSEN = "rekap persen"
    WAKTU = "rekap waktu"
    JUMLAH = "rekap jumlah"
    JUMLAH_ANGKA = "rekap jumlah angka"
    JUMLAH_PERSEN = "rekap jumlah persen"
    RUMUS = "rekap rumus"
    PERIKSA = "rekap periksa"
    PERIKSA_TEMUAN = "rekap periksa temuan"
    BELUM = "rekap belum"
    SELISIH = "rekap selisih"

    def __init__(self, wb: Workbook):
        tipis = Side(style="thin", color="808080")
        kotak = Border(left=tipis, right=tipis, top=tipis, bottom=tipis)
        garis_atas = Border(top=Side(style="thin", color="000000"), bottom=Side(style="double", color="000000"))
        isi_kepala = PatternFill("solid", fgColor="D9E1F2")
        isi_jumlah = PatternFill("solid", fgColor="EDEDED")
        isi_periksa = PatternFill("solid", fgColor="FFE699")
        isi_selisih = PatternFill("solid", fgColor="FFC7CE")
        tebal = Font(bold=True)
        for gaya in (
            NamedStyle(self.JUDUL, font=Font(bold=True, size=14)),
            NamedStyle(self.SUBJUDUL, font=Font(bold=True, size=11)),
            NamedStyle(self.CATATAN, font=Font(italic=True, size=9, color="595959")),
            NamedStyle(
                self.KEPALA, font=tebal, fill=isi_kepala, border=kotak,
                alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
            ),
            NamedStyle(self.LABEL, font=tebal),
            NamedStyle(self.ANGKA, number_format=_FORMAT_RIBUAN),
            NamedStyle(self.PERSEN, number_format=_FORMAT_PERSEN),
            NamedStyle(self.WAKTU, number_format=_FORMAT_WAKTU, alignment=Alignment(horizontal="left")),
            NamedStyle(self.JUMLAH, font=tebal, fill=isi_jumlah, border=garis_atas),
            NamedStyle(self.JUMLAH_ANGKA, font=tebal, fill=isi_jumlah, border=garis_atas,
                       number_format=_FORMAT_RIBUAN),
            NamedStyle(self.JUMLAH_PERSEN, font=tebal, fill=isi_jumlah, border=garis_atas,
                       number_format=_FORMAT_PERSEN),
            NamedStyle(self.RUMUS, font=Font(italic=True, color="595959"), number_format=_FORMAT_RIBUAN),
            NamedStyle(self.PERIKSA, fill=isi_periksa),
            NamedStyle(self.PERIKSA_TEMUAN, fill=isi_periksa, font=Font(bold=True, color="9C0006")),
            NamedStyle(self.BELUM, font=Font(italic=True, color="808080")),
            NamedStyle(self.SELISIH, fill=isi_selisih, font=Font(bold=True, color="9C0006")),
        ):
            wb.add_named_style(gaya)


def _sel(ws, gaya: str, nilai: Any = None) -> WriteOnlyCell:
    """One styled cell, for the few rows that are not repeated."""
    sel = WriteOnlyCell(ws, value=nilai)
    sel.style = gaya
    return sel


class _Templat:
    """Styled cells for the columns of a repeated row, made once and refilled per row.

    openpyxl writes a row out when it is appended, so the same cell objects can
    carry the next row's values: no cell or style object is made per row.
    """

    __slots__ = ("_sel",)

    def __init__(self, ws, gaya_kolom: Mapping[int, str]):
        self._sel = []
        for indeks, gaya in sorted(gaya_kolom.items()):
            sel = WriteOnlyCell(ws)
            sel.style = gaya
            self._sel.append((indeks, sel))

    def isi(self, baris: list) -> list:
        for indeks, sel in self._sel:
            sel.value = baris[indeks]
            baris[indeks] = sel
        return baris


# --- sheet scaffolding -------------------------------------------------------

def _siapkan(ws, lebar: Sequence[float], *, beku: str, judul_baris: str, judul_kolom: str | None,
             satu_halaman: bool, catatan_kaki: str) -> None:
    """Column widths, frozen panes and print setup; must come before the first row."""
    for i, w in enumerate(lebar, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = beku
    ws.print_title_rows = judul_baris
    if judul_kolom:
        ws.print_title_cols = judul_kolom
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9  # A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1 if satu_halaman else 2
    ws.page_setup.fitToHeight = 0  # as many pages down as needed
    ws.print_options.gridLines = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.left.text = _teks(catatan_kaki)[:180].replace("&", "&&")  # Excel: 255 chars at most
    ws.oddFooter.left.size = 8
    ws.oddFooter.right.text = "Halaman &P dari &N"
    ws.oddFooter.right.size = 8


def _kepala_dua_baris(ws, g: _Gaya, identitas: Sequence[str],
                      kelompok: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Rows 3 and 4: identity columns merged down, groups merged across."""
    atas: list[Any] = []
    bawah: list[Any] = []
    kolom = 1
    for nama in identitas:
        atas.append(_sel(ws, g.KEPALA, nama))
        bawah.append(_sel(ws, g.KEPALA))
        ws.merged_cells.add(f"{get_column_letter(kolom)}3:{get_column_letter(kolom)}4")
        kolom += 1
    for nama, anak in kelompok:
        if not anak:
            continue
        for i, sub in enumerate(anak):
            atas.append(_sel(ws, g.KEPALA, nama if i == 0 else None))
            bawah.append(_sel(ws, g.KEPALA, sub))
        if len(anak) > 1:
            ws.merged_cells.add(f"{get_column_letter(kolom)}3:{get_column_letter(kolom + len(anak) - 1)}3")
        kolom += len(anak)
    ws.append(atas)
    ws.append(bawah)


@dataclass
class _Konteks:
    rekap: Mapping[str, Any]
    kontes: Mapping[str, Any]
    tingkat: _Tingkat
    paslon: list[_Paslon]
    kunci_paslon: list[tuple[str, int | None]]
    kelompok: list[tuple[str, list[tuple[str, str]]]]
    judul: str
    nama_kontes: str
    catatan_kaki: str

    @property
    def n_angka(self) -> int:
        return _N_AWAL + len(self.paslon) + 3


def _sebutan(tingkat: str | None, nama: str) -> str:
    """How a region is named in a title: KABUPATEN JOMBANG, KOTA SURABAYA, KECAMATAN PLOSO."""
    nama = nama.strip()
    if tingkat in ("kabupaten", "kota"):
        return nama if nama.upper().startswith("KOTA ") else f"KABUPATEN {nama}"
    awalan = {"provinsi": "PROVINSI", "kecamatan": "KECAMATAN", "desa": "DESA/KELURAHAN",
              "kelurahan": "KELURAHAN"}.get(tingkat or "")
    return f"{awalan} {nama}" if awalan else nama


def _konteks(rekap, kontes, dibuat, versi_data) -> _Konteks:
    tingkat = _TINGKAT.get(rekap.get("tingkat") or "", _TINGKAT_LAIN)
    paslon = _daftar_paslon(kontes, rekap)
    kunci_paslon = []
    for p in paslon:
        try:
            nomor = int(p.nomor)
        except (TypeError, ValueError):
            nomor = None
        kunci_paslon.append((p.kunci, nomor))
    nama_wilayah = f"{_sebutan(rekap.get('tingkat'), rekap.get('nama') or '')} ({rekap.get('kode') or '-'})"
    nama_kontes = kontes.get("nama") or kontes.get("kode") or rekap.get("kontes") or ""
    waktu = _waktu_utc(dibuat)
    waktu = waktu.strftime("%Y-%m-%d %H:%M UTC") if isinstance(waktu, datetime) else str(waktu)
    return _Konteks(
        rekap=rekap, kontes=kontes, tingkat=tingkat, paslon=paslon, kunci_paslon=kunci_paslon,
        kelompok=_kelompok(paslon),
        judul=_teks(f"{tingkat.formulir} - {nama_wilayah}"),
        nama_kontes=_teks(nama_kontes),
        catatan_kaki=f"rekap | {nama_wilayah} | {nama_kontes} | dibuat {waktu} | versi data {versi_data}",
    )


def _judul(ws, g: _Gaya, k: _Konteks, sub: str) -> None:
    ws.append([_sel(ws, g.JUDUL, k.judul)])
    ws.append([_sel(ws, g.SUBJUDUL, f"{k.nama_kontes} - {sub}")])


# --- Ringkasan -----------------------------------------------------------------

def _tulis_ringkasan(wb, g: _Gaya, k: _Konteks, dibuat, versi_data) -> None:
    ws = wb.create_sheet(LEMBAR_RINGKASAN)
    _siapkan(ws, [9, 62, 16, 16, 16], beku="A4", judul_baris="1:3", judul_kolom=None,
             satu_halaman=True, catatan_kaki=k.catatan_kaki)
    r = k.rekap
    a = _angka(r, k.kunci_paslon, 0)
    sah = a[_N_AWAL + len(k.paslon)]
    masuk, total_tps, perlu = _progres(r)

    def label(teks):
        return _sel(ws, g.LABEL, teks)

    def angka(nilai):
        return _sel(ws, g.ANGKA, nilai)

    def persen(nilai):
        return _sel(ws, g.PERSEN, nilai)

    def kepala(*teks):
        ws.append([_sel(ws, g.KEPALA, t) for t in teks])

    ws.append([_sel(ws, g.JUDUL, f"{k.tingkat.formulir} - REKAPITULASI HASIL PENGHITUNGAN PEROLEHAN SUARA")])
    ws.append([_sel(ws, g.SUBJUDUL, k.nama_kontes)])
    ws.append([_sel(ws, g.SUBJUDUL, k.judul)])
    ws.append([])
    ws.append([label("Kode wilayah"), None, _teks(str(r.get("kode") or ""))])
    ws.append([label("Nama wilayah"), None, _teks(r.get("nama") or "")])
    ws.append([label("Tingkat"), None, k.tingkat.label])
    ws.append([label("Kontes"), None, _teks(f"{k.kontes.get('kode') or r.get('kontes') or ''} - {k.nama_kontes}")])
    ws.append([])

    kepala("No. urut", "IV. Perolehan suara pasangan calon", "Suara", "Persentase dari suara sah")
    for i, p in enumerate(k.paslon):
        suara = a[_I_SUARA + i]
        nomor = p.nomor if isinstance(p.nomor, int) else _teks(str(p.nomor))
        ws.append([nomor, _teks(p.nama), angka(suara), persen(_bagi(suara, sah))])
    n = _N_AWAL + len(k.paslon)
    ws.append(["V.A", "Jumlah suara sah", angka(a[n]), persen(1.0 if sah else 0.0)])
    ws.append(["V.B", "Jumlah suara tidak sah", angka(a[n + 1])])
    ws.append(["V.C", "Jumlah seluruh suara (sah + tidak sah)", angka(a[n + 2])])
    ws.append([])

    kepala("I.", "Data pemilih dan pengguna hak pilih", "L", "P", "J")
    for kode, teks, i in (
        ("A.", "Pemilih terdaftar dalam DPT", 0),
        ("B.1", "Pengguna hak pilih dalam DPT", 3),
        ("B.2", "Pengguna hak pilih dalam DPTb (pindahan)", 6),
        ("B.3", "Pengguna hak pilih dalam DPK (KTP-el)", 9),
        ("B.4", "Jumlah pengguna hak pilih (B.1 + B.2 + B.3)", 12),
    ):
        ws.append([kode, teks, angka(a[i]), angka(a[i + 1]), angka(a[i + 2])])
    ws.append([])

    kepala("II.", "Data penggunaan surat suara", "Jumlah")
    for kode, teks, i in (
        ("1.", "Surat suara diterima (termasuk cadangan 2%)", 15),
        ("2.", "Surat suara digunakan", 16),
        ("3.", "Surat suara dikembalikan (rusak atau keliru coblos)", 17),
        ("4.", "Surat suara tidak digunakan (sisa)", 18),
    ):
        ws.append([kode, teks, angka(a[i])])
    ws.append([])

    kepala("III.", "Pemilih disabilitas yang menggunakan hak pilih", "L", "P", "J")
    ws.append([None, "Pemilih disabilitas", angka(a[19]), angka(a[20]), angka(a[21])])
    ws.append([None, "Persentase dari jumlah pengguna hak pilih (J)", None, None,
               persen(_bagi(a[_I_DISABILITAS_J], a[_I_PENGGUNA_J]))])
    ws.append([])

    kepala("", "Partisipasi dan progres", "Nilai")
    ws.append([None, "Partisipasi pemilih (pengguna hak pilih J / DPT J)",
               persen(_bagi(a[_I_PENGGUNA_J], a[_I_DPT_J]))])
    ws.append([None, "TPS masuk", angka(masuk)])
    ws.append([None, "TPS seluruhnya", angka(total_tps)])
    ws.append([None, "Progres TPS masuk", persen(_bagi(masuk, total_tps))])
    ws.append([None, "TPS belum masuk", angka(max(total_tps - masuk, 0))])
    ws.append([None, "TPS perlu periksa (ada temuan)", angka(perlu)])
    ws.append([])

    diperbarui = _waktu_utc(r.get("diperbarui"))
    ws.append([label("Data diperbarui (UTC)"), None,
               _sel(ws, g.WAKTU, diperbarui) if isinstance(diperbarui, datetime) else (diperbarui or "-")])
    ws.append([label("Dibuat (UTC)"), None, _sel(ws, g.WAKTU, _waktu_utc(dibuat))])
    ws.append([label("Versi data"), None, _teks(versi_data)])
    ws.append([])
    catatan = (
        "Angka adalah jumlah C.Hasil TPS yang sudah masuk; TPS yang belum masuk belum dihitung. "
        "TPS perlu periksa sudah dihitung, tetapi ada isian formulir yang tidak sesuai "
        "(lihat lembar TPS)."
    )
    ws.append([_sel(ws, g.CATATAN, catatan)])
    ws.merged_cells.add("A1:E1")
    ws.merged_cells.add("A2:E2")
    ws.merged_cells.add("A3:E3")


# --- children ------------------------------------------------------------------

def _tulis_anak(wb, g: _Gaya, k: _Konteks) -> None:
    ws = wb.create_sheet(k.tingkat.lembar)
    n_paslon = len(k.paslon)
    n_angka = k.n_angka
    lebar = [5, 13, 24] + [9.5] * n_angka + [8, 8, 9, 9] + [9] * n_paslon
    _siapkan(ws, lebar, beku=f"{get_column_letter(KOLOM_ANGKA_ANAK)}{BARIS_DATA}",
             judul_baris=f"1:{BARIS_KEPALA}", judul_kolom="A:C", satu_halaman=False,
             catatan_kaki=k.catatan_kaki)
    ws.row_dimensions[BARIS_KEPALA].height = 30
    _judul(ws, g, k, f"rincian per {k.tingkat.label_anak.lower()}")
    kelompok = [(nama, [sub for _, sub in kolom]) for nama, kolom in k.kelompok]
    kelompok += [
        ("Progres TPS", ["Masuk", "Total", "%"]),
        ("Perlu periksa", ["TPS"]),
        ("Persentase suara paslon", [p.label for p in k.paslon]),
    ]
    _kepala_dua_baris(ws, g, ["No", "Kode", k.tingkat.label_anak], kelompok)

    awal = KOLOM_ANGKA_ANAK - 1  # 0-based index of the number block
    i_masuk = awal + n_angka
    i_sah = awal + _N_AWAL + n_paslon
    persen_kolom = [i_masuk + 2] + [i_masuk + 4 + i for i in range(n_paslon)]
    templat = _Templat(ws, {i: g.PERSEN for i in persen_kolom})

    jumlah = [0] * n_angka
    jumlah_tps = [0, 0, 0]
    anak = k.rekap.get("anak") or []
    for no, r in enumerate(anak, 1):
        angka = _angka(r, k.kunci_paslon, 0)
        jumlah = _tambah(jumlah, angka)
        masuk, total, perlu = _progres(r)
        jumlah_tps[0] += masuk
        jumlah_tps[1] += total
        jumlah_tps[2] += perlu
        sah = angka[_N_AWAL + n_paslon]
        baris = [no, _teks(str(r.get("kode") or "")), _teks(r.get("nama") or "")]
        baris += angka
        baris += (masuk, total, _bagi(masuk, total), perlu)
        baris += [_bagi(angka[_I_SUARA + i], sah) for i in range(n_paslon)]
        ws.append(templat.isi(baris))

    # JUMLAH: computed here, stored as numbers
    sah = jumlah[_N_AWAL + n_paslon]
    masuk, total, perlu = jumlah_tps
    baris = [None, None, LABEL_JUMLAH] + jumlah
    baris += [masuk, total, _bagi(masuk, total), perlu]
    baris += [_bagi(jumlah[_I_SUARA + i], sah) for i in range(n_paslon)]
    gaya = {i: g.JUMLAH_ANGKA for i in range(len(baris))}
    gaya.update({i: g.JUMLAH_PERSEN for i in persen_kolom})
    gaya[2] = gaya[0] = gaya[1] = g.JUMLAH
    ws.append(_Templat(ws, gaya).isi(baris))

    if anak:
        # the same sums as formulas, for whoever checks the sheet in Excel
        pertama, terakhir = BARIS_DATA, BARIS_DATA + len(anak) - 1
        baris = [None, None, _sel(ws, g.RUMUS, LABEL_JUMLAH_RUMUS)]
        for i in range(awal, i_masuk + 4):
            if i == i_masuk + 2:
                baris.append(None)
                continue
            huruf = get_column_letter(i + 1)
            baris.append(_sel(ws, g.RUMUS, f"=SUM({huruf}{pertama}:{huruf}{terakhir})"))
        ws.append(baris)

    # the children must add up to the region's own recap; say so when they do not
    rekap = _angka(k.rekap, k.kunci_paslon, 0)
    rekap_tps = list(_progres(k.rekap))
    if anak and (rekap != jumlah or rekap_tps != jumlah_tps):
        ws.append([])
        baris = [None, None, "Rekap wilayah"] + rekap + rekap_tps[:2] + [None, rekap_tps[2]]
        ws.append([_sel(ws, g.SELISIH, v) for v in baris])
        ws.append([_sel(ws, g.SELISIH, "Catatan: jumlah rincian berbeda dengan rekap wilayah; "
                                         "jalankan `rekap verify`.")])
    ws.append([])
    ws.append([_sel(ws, g.CATATAN, f"Persentase suara paslon dihitung dari suara sah; "
                                   f"progres = TPS masuk / TPS seluruhnya. "
                                   f"{k.tingkat.label_anak} tanpa TPS masuk bernilai 0.")])
    ws.merged_cells.add(f"A1:{get_column_letter(min(len(lebar), 12))}1")


# --- TPS -------------------------------------------------------------------------

def _tulis_tps(wb, g: _Gaya, k: _Konteks, tps: Iterable[Mapping[str, Any]]) -> None:
    ws = wb.create_sheet(LEMBAR_TPS)
    n_angka = k.n_angka
    lebar = [18, 20, 16, 9, 14, 6] + [8.5] * n_angka + [70]
    _siapkan(ws, lebar, beku=f"{get_column_letter(KOLOM_ANGKA_TPS)}{BARIS_DATA}",
             judul_baris=f"1:{BARIS_KEPALA}", judul_kolom="A:D", satu_halaman=False,
             catatan_kaki=k.catatan_kaki)
    ws.row_dimensions[BARIS_KEPALA].height = 30
    _judul(ws, g, k, "hasil per TPS (C.Hasil)")
    kelompok = [(nama, [sub for _, sub in kolom]) for nama, kolom in k.kelompok]
    kelompok.append(("Temuan", ["Temuan pemeriksaan C.Hasil"]))
    _kepala_dua_baris(ws, g, ["Kecamatan", "Desa/Kelurahan", "Kode TPS", "TPS", "Status", "Versi"], kelompok)

    n_kolom = 6 + n_angka + 1
    i_status = 4
    periksa = _Templat(ws, {**{i: g.PERIKSA for i in range(n_kolom - 1)}, n_kolom - 1: g.PERIKSA_TEMUAN})
    belum = _Templat(ws, {i_status: g.BELUM})
    kosong = [None] * n_angka
    label_status = LABEL_STATUS
    label_belum = LABEL_STATUS["belum"]
    kunci_paslon = k.kunci_paslon
    angka_dari = _angka
    tambah = _tambah
    teks = _teks
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
        temuan = t.get("temuan")
        if temuan:
            temuan = teks("; ".join(str(x.get("pesan") or x.get("message") or x.get("kode") or "")
                                    for x in temuan))
        else:
            temuan = None
        if status == "belum":
            baris = [kec, desa, teks(t.get("kode")), teks(t.get("nama")), label_belum, t.get("versi")]
            baris += kosong
            baris.append(temuan)
            append(belum.isi(baris))
            continue
        n_masuk += 1
        angka = angka_dari(t, kunci_paslon, None)
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
    append(_Templat(ws, gaya).isi(baris))
    append([])
    append([_sel(ws, g.CATATAN, "Baris berwarna: TPS perlu periksa (dihitung, ada temuan). "
                                "TPS belum masuk: angka dikosongkan, bukan nol.")])
    ws.merged_cells.add("A1:L1")


# --- Partisipasi ---------------------------------------------------------------

def _tulis_partisipasi(wb, g: _Gaya, k: _Konteks) -> None:
    ws = wb.create_sheet(LEMBAR_PARTISIPASI)
    lebar = [5, 13, 24, 11, 11, 11, 11, 11, 11, 10, 10, 10, 12, 12, 9, 9, 9]
    _siapkan(ws, lebar, beku=f"D{BARIS_DATA}", judul_baris=f"1:{BARIS_KEPALA}", judul_kolom=None,
             satu_halaman=True, catatan_kaki=k.catatan_kaki)
    ws.row_dimensions[BARIS_KEPALA].height = 30
    _judul(ws, g, k, "partisipasi pemilih dan pemilih disabilitas")
    _kepala_dua_baris(ws, g, ["No", "Kode", k.tingkat.label_anak], [
        ("Pemilih terdaftar (DPT)", _LPJ),
        ("Pengguna hak pilih", _LPJ),
        ("Partisipasi (%)", _LPJ),
        ("Pemilih disabilitas", ["J", "% dari pengguna"]),
        ("Progres TPS", ["Masuk", "Total", "%"]),
    ])
    persen_kolom = (9, 10, 11, 13, 16)
    templat = _Templat(ws, {**{i: g.ANGKA for i in (3, 4, 5, 6, 7, 8, 12, 14, 15)},
                            **{i: g.PERSEN for i in persen_kolom}})

    def baris_dari(no, kode, nama, a, masuk, total):
        dpt = a[_I_DPT_L:_I_DPT_J + 1]
        pengguna = a[_I_PENGGUNA_L:_I_PENGGUNA_J + 1]
        disabilitas = a[_I_DISABILITAS_J]
        return [no, kode, nama, *dpt, *pengguna,
                *(_bagi(x, y) for x, y in zip(pengguna, dpt)),
                disabilitas, _bagi(disabilitas, pengguna[2]),
                masuk, total, _bagi(masuk, total)]

    jumlah = [0] * k.n_angka
    jumlah_masuk = jumlah_total = 0
    for no, r in enumerate(k.rekap.get("anak") or [], 1):
        a = _angka(r, k.kunci_paslon, 0)
        jumlah = _tambah(jumlah, a)
        masuk, total, _ = _progres(r)
        jumlah_masuk += masuk
        jumlah_total += total
        ws.append(templat.isi(baris_dari(no, _teks(str(r.get("kode") or "")), _teks(r.get("nama") or ""),
                                         a, masuk, total)))
    baris = baris_dari(None, None, LABEL_JUMLAH, jumlah, jumlah_masuk, jumlah_total)
    gaya = {i: g.JUMLAH_ANGKA for i in range(len(baris))}
    gaya.update({i: g.JUMLAH_PERSEN for i in persen_kolom})
    gaya[0] = gaya[1] = gaya[2] = g.JUMLAH
    ws.append(_Templat(ws, gaya).isi(baris))
    ws.append([])
    ws.append([_sel(ws, g.CATATAN, "Partisipasi = pengguna hak pilih / DPT, dari TPS yang sudah masuk. "
                                   "Pemilih disabilitas: C.Hasil bagian III.")])
    ws.merged_cells.add("A1:M1")


# --- entry point ---------------------------------------------------------------

def write_workbook(
    target: str | os.PathLike[str] | IO[bytes],
    rekap: Mapping[str, Any],
    tps: Iterable[Mapping[str, Any]] | None,
    kontes: Mapping[str, Any],
    *,
    dibuat: datetime,
    versi_data: int | str,
) -> None:
    """Write the D.Hasil workbook of one region to ``target`` (a path or a binary file).

    ``rekap`` is the region's recap JSON (with ``anak``), ``tps`` every TPS
    under it in kode order (consumed once, as a stream), ``kontes`` the
    contest with its ``paslon``. ``dibuat`` (the file's creation time) and
    ``versi_data`` (the data version it was made from) are printed on every
    page and stored in the document properties.
    """
    wb = Workbook(write_only=True)
    g = _Gaya(wb)
    k = _konteks(rekap, kontes, dibuat, versi_data)

    props = wb.properties
    props.title = _teks(f"{k.judul} - {k.nama_kontes}")
    props.subject = k.nama_kontes
    props.creator = "rekap"
    props.lastModifiedBy = "rekap"
    props.created = _waktu_utc(dibuat)
    props.description = _teks(f"Rekapitulasi suara {k.judul}; versi data {versi_data}")
    props.keywords = _teks(f"rekap; D.Hasil; {k.kontes.get('kode') or rekap.get('kontes') or ''}; "
                           f"{rekap.get('kode') or ''}")
    props.category = "Rekapitulasi hasil penghitungan suara"
    props.language = "id-ID"
    wb.calculation.fullCalcOnLoad = True  # the formula row computes on opening

    _tulis_ringkasan(wb, g, k, dibuat, versi_data)
    _tulis_anak(wb, g, k)
    _tulis_tps(wb, g, k, tps or ())
    _tulis_partisipasi(wb, g, k)
    wb.save(target)
