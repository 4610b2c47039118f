"""Styles and sheet scaffolding: named styles made once per workbook, styled
cells reused row after row, page setup, the two-row column header, titles.

Speed: openpyxl serialises a row of a write-only sheet as soon as it is
appended, so a :class:`Templat` refills the same styled cells for every row:
no cell or style object is made per row, and plain rows stay plain lists.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter

from services.export.workbook.nilai import teks

FORMAT_PERSEN = "0.00%"
FORMAT_RIBUAN = "#,##0"
FORMAT_WAKTU = "yyyy-mm-dd hh:mm:ss"


class Gaya:
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
            NamedStyle(self.ANGKA, number_format=FORMAT_RIBUAN),
            NamedStyle(self.PERSEN, number_format=FORMAT_PERSEN),
            NamedStyle(self.WAKTU, number_format=FORMAT_WAKTU, alignment=Alignment(horizontal="left")),
            NamedStyle(self.JUMLAH, font=tebal, fill=isi_jumlah, border=garis_atas),
            NamedStyle(self.JUMLAH_ANGKA, font=tebal, fill=isi_jumlah, border=garis_atas,
                       number_format=FORMAT_RIBUAN),
            NamedStyle(self.JUMLAH_PERSEN, font=tebal, fill=isi_jumlah, border=garis_atas,
                       number_format=FORMAT_PERSEN),
            NamedStyle(self.RUMUS, font=Font(italic=True, color="595959"), number_format=FORMAT_RIBUAN),
            NamedStyle(self.PERIKSA, fill=isi_periksa),
            NamedStyle(self.PERIKSA_TEMUAN, fill=isi_periksa, font=Font(bold=True, color="9C0006")),
            NamedStyle(self.BELUM, font=Font(italic=True, color="808080")),
            NamedStyle(self.SELISIH, fill=isi_selisih, font=Font(bold=True, color="9C0006")),
        ):
            wb.add_named_style(gaya)


def sel(ws, gaya: str, nilai: Any = None) -> WriteOnlyCell:
    """One styled cell, for the few rows that are not repeated."""
    hasil = WriteOnlyCell(ws, value=nilai)
    hasil.style = gaya
    return hasil


class Templat:
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


def siapkan(ws, lebar: Sequence[float], *, beku: str, judul_baris: str, judul_kolom: str | None,
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
    ws.oddFooter.left.text = teks(catatan_kaki)[:180].replace("&", "&&")  # Excel: 255 chars at most
    ws.oddFooter.left.size = 8
    ws.oddFooter.right.text = "Halaman &P dari &N"
    ws.oddFooter.right.size = 8


def kepala_dua_baris(ws, g: Gaya, identitas: Sequence[str],
                      kelompok: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Rows 3 and 4: identity columns merged down, groups merged across."""
    atas: list[Any] = []
    bawah: list[Any] = []
    kolom = 1
    for nama in identitas:
        atas.append(sel(ws, g.KEPALA, nama))
        bawah.append(sel(ws, g.KEPALA))
        ws.merged_cells.add(f"{get_column_letter(kolom)}3:{get_column_letter(kolom)}4")
        kolom += 1
    for nama, anak in kelompok:
        if not anak:
            continue
        for i, sub in enumerate(anak):
            atas.append(sel(ws, g.KEPALA, nama if i == 0 else None))
            bawah.append(sel(ws, g.KEPALA, sub))
        if len(anak) > 1:
            ws.merged_cells.add(f"{get_column_letter(kolom)}3:{get_column_letter(kolom + len(anak) - 1)}3")
        kolom += len(anak)
    ws.append(atas)
    ws.append(bawah)


def judul(ws, g: Gaya, judul_lembar: str, sub: str) -> None:
    """Rows 1 and 2: the workbook's title and what this sheet shows."""
    ws.append([sel(ws, g.JUDUL, judul_lembar)])
    ws.append([sel(ws, g.SUBJUDUL, sub)])
