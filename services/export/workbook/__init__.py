"""D.Hasil workbook writer: the recap of one region as an .xlsx file.

Pure: plain dicts in (the recap JSON of the export API), a file out. No Flask,
no database, no Celery, so the export service, `rekap demo`, the tests and
the benchmark all call the same function, :func:`write_workbook`.

Sheets (labels in Bahasa Indonesia, in the spirit of KPU's D.Hasil forms),
one module each:

- ``Ringkasan`` (:mod:`.ringkasan`): the region's totals as the form's
  sections I to V, progress, when the file was made, from which data version.
- ``Per Kecamatan`` / ``Per Desa`` / ``Per TPS`` / ``Per Kabupaten`` /
  ``Per Provinsi`` (:mod:`.anak`): one row per child region, totals, formulas.
- ``TPS`` (:mod:`.tps`): every TPS under the region, reported or not, streamed.
- ``Partisipasi`` (:mod:`.partisipasi`): turnout and disabled voters per child.

Beside them: :mod:`.tata` (layout: sheet names, rows, labels, levels),
:mod:`.kolom` (the C.Hasil number block as columns, sums), :mod:`.gaya`
(styles, reusable styled cells, page setup), :mod:`.nilai` (cell values),
:mod:`.konteks` (what the sheets of one workbook share).

Speed: openpyxl write-only mode (with lxml); named styles registered once;
styled cells reused row after row (:class:`.gaya.Templat`).
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import IO, Any, Iterable, Mapping

from openpyxl import Workbook

from services.export.workbook import anak, partisipasi, ringkasan, tps as lembar_tps
from services.export.workbook.gaya import Gaya
from services.export.workbook.kolom import kunci_angka
from services.export.workbook.konteks import konteks
from services.export.workbook.nilai import teks, waktu_utc
from services.export.workbook.tata import (
    BARIS_DATA, BARIS_KEPALA, KOLOM_ANGKA_ANAK, KOLOM_ANGKA_TPS, LABEL_JUMLAH, LABEL_JUMLAH_RUMUS,
    LABEL_REKAP, LABEL_STATUS, LEMBAR_PARTISIPASI, LEMBAR_RINGKASAN, LEMBAR_TPS, lembar_anak,
)

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
    "LABEL_REKAP",
]


def write_workbook(
    target: str | os.PathLike[str] | IO[bytes],
    rekap: Mapping[str, Any],
    tps: Iterable[Mapping[str, Any]] | None,
    kontes: Mapping[str, Any],
    *,
    dibuat: datetime,
    versi_data: int | str,
    sidik: str | None = None,
) -> None:
    """Write the D.Hasil workbook of one region to ``target`` (a path or a binary file).

    ``rekap`` is the region's recap JSON (with ``anak``), ``tps`` every TPS
    under it in kode order (consumed once, as a stream; numbers nested as in
    the API or as the stored flat ``angka``), ``kontes`` the contest with its
    ``paslon``. ``dibuat`` (the file's creation time) and ``versi_data`` (the
    data version it was made from) are printed on every page and stored in
    the document properties; ``sidik``, the export cache key, in its identifier.
    """
    wb = Workbook(write_only=True)
    g = Gaya(wb)
    k = konteks(rekap, kontes, dibuat, versi_data)

    props = wb.properties
    props.title = teks(f"{k.judul} - {k.nama_kontes}")
    props.subject = k.nama_kontes
    props.creator = "rekap"
    props.lastModifiedBy = "rekap"
    props.created = waktu_utc(dibuat)
    props.modified = waktu_utc(dibuat)
    props.description = teks(f"Rekapitulasi suara {k.judul}; versi data {versi_data}")
    props.keywords = teks(f"rekap; D.Hasil; {k.kontes.get('kode') or rekap.get('kontes') or ''}; "
                          f"{rekap.get('kode') or ''}")
    props.category = "Rekapitulasi hasil penghitungan suara"
    props.language = "id-ID"
    if sidik:
        props.identifier = teks(sidik)
    wb.calculation.fullCalcOnLoad = True  # the formula row computes on opening

    ringkasan.tulis(wb, g, k)
    anak.tulis(wb, g, k)
    lembar_tps.tulis(wb, g, k, tps or ())
    partisipasi.tulis(wb, g, k)
    wb.save(target)
