"""The number block: the C.Hasil sections as columns, in the order of the form.

A record (the region's recap, a child region, a TPS) becomes one flat list
of numbers, :func:`angka` from the nested JSON of the export API or
:func:`pembaca` from the stored flat ``angka`` of ``shared.domain.hasil``;
totals are added up here, in Python.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

LPJ = ("L", "P", "J")
# (group header, [(key, column header)])
BLOK_AWAL = [
    ("I.A Pemilih terdaftar (DPT)", [("pemilih_dpt_" + x.lower(), x) for x in LPJ]),
    ("I.B.1 Pengguna hak pilih DPT", [("pengguna_dpt_" + x.lower(), x) for x in LPJ]),
    ("I.B.2 Pengguna DPTb (pindahan)", [("pengguna_dptb_" + x.lower(), x) for x in LPJ]),
    ("I.B.3 Pengguna DPK (KTP-el)", [("pengguna_dpk_" + x.lower(), x) for x in LPJ]),
    ("I.B.4 Jumlah pengguna hak pilih", [("pengguna_total_" + x.lower(), x) for x in LPJ]),
    ("II. Surat suara", [
        ("surat_suara_diterima", "Diterima"),
        ("surat_suara_digunakan", "Digunakan"),
        ("surat_suara_dikembalikan", "Dikembalikan"),
        ("surat_suara_sisa", "Sisa"),
    ]),
    ("III. Pemilih disabilitas", [("disabilitas_" + x.lower(), x) for x in LPJ]),
]
BLOK_AKHIR = ("V. Jumlah suara", [
    ("suara_sah", "Sah"),
    ("suara_tidak_sah", "Tidak sah"),
    ("suara_total", "Total"),
])
N_AWAL = sum(len(k) for _, k in BLOK_AWAL)  # 22 columns before the paslon votes

# positions inside the number block (0-based)
I_DPT_L, I_DPT_P, I_DPT_J = 0, 1, 2
I_PENGGUNA_L, I_PENGGUNA_P, I_PENGGUNA_J = 12, 13, 14
I_SURAT_SUARA = 15
I_DISABILITAS_L, I_DISABILITAS_J = 19, 21
I_SUARA = N_AWAL  # first paslon

KOSONG: Mapping[str, Any] = {}


@dataclass(frozen=True)
class Paslon:
    nomor: int | str
    kunci: str
    nama: str

    @property
    def label(self) -> str:
        try:
            return f"{int(self.nomor):02d}"
        except (TypeError, ValueError):
            return str(self.nomor)


def daftar_paslon(kontes: Mapping[str, Any], rekap: Mapping[str, Any]) -> list[Paslon]:
    daftar = [
        Paslon(p.get("nomor_urut"), str(p.get("nomor_urut")), p.get("nama") or "")
        for p in (kontes.get("paslon") or [])
    ]
    if not daftar:  # no definition at hand: use the numbers the recap carries
        daftar = [Paslon(k, str(k), "") for k in (rekap.get("suara") or {})]

    def urut(p: Paslon):
        try:
            return (0, int(p.nomor), "")
        except (TypeError, ValueError):
            return (1, 0, str(p.nomor))

    return sorted(daftar, key=urut)


def kelompok(paslon: Sequence[Paslon]) -> list[tuple[str, list[tuple[str, str]]]]:
    suara = ("IV. Perolehan suara paslon", [("suara_" + p.kunci, p.label) for p in paslon])
    return [*BLOK_AWAL, suara, BLOK_AKHIR]


def kunci_angka(kontes: Mapping[str, Any]) -> list[str]:
    """Stable keys of the number block's columns, in sheet order.

    ``pemilih_dpt_l`` ... ``surat_suara_sisa``, ``disabilitas_l/p/j``,
    ``suara_<nomor urut>`` per paslon, ``suara_sah``, ``suara_tidak_sah``,
    ``suara_total``. The block starts at ``KOLOM_ANGKA_ANAK`` on the
    children sheet and at ``KOLOM_ANGKA_TPS`` on the TPS sheet.
    """
    return [k for _, kolom in kelompok(daftar_paslon(kontes, {})) for k, _ in kolom]


def _lpj(d: Mapping[str, Any] | None, bawaan):
    if not d:
        return bawaan, bawaan, bawaan
    l = d.get("l", bawaan)
    p = d.get("p", bawaan)
    j = d.get("j")
    if j is None:
        j = l + p if (l is not None and p is not None) else bawaan
    return l, p, j


def angka(r: Mapping[str, Any], paslon: Sequence[tuple[str, int | None]], bawaan) -> list:
    """The number block of one record in the API's nested shape, as a flat list."""
    pengguna = r.get("pengguna") or KOSONG
    surat = r.get("surat_suara") or KOSONG
    suara = r.get("suara") or KOSONG
    g = r.get
    hasil = [
        *_lpj((g("pemilih") or KOSONG).get("dpt"), bawaan),
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


def pembaca(paslon: Sequence[tuple[str, int | None]]) -> Callable[[Mapping[str, int]], list]:
    """A reader of stored ``angka`` (flat dotted keys, ``shared.domain.hasil``) into the
    number block; the boxes the form derives (each J, the pengguna total) are added here."""
    suara = tuple(f"suara.{kunci}" for kunci, _ in paslon)

    def baca(a: Mapping[str, int]) -> list:
        g = a.get
        dl, dp = g("pemilih.dpt.l", 0), g("pemilih.dpt.p", 0)
        ul, up = g("pengguna.dpt.l", 0), g("pengguna.dpt.p", 0)
        bl, bp = g("pengguna.dptb.l", 0), g("pengguna.dptb.p", 0)
        kl, kp = g("pengguna.dpk.l", 0), g("pengguna.dpk.p", 0)
        tl, tp = ul + bl + kl, up + bp + kp
        xl, xp = g("disabilitas.l", 0), g("disabilitas.p", 0)
        return [dl, dp, dl + dp, ul, up, ul + up, bl, bp, bl + bp, kl, kp, kl + kp, tl, tp, tl + tp,
                g("surat_suara.diterima", 0), g("surat_suara.digunakan", 0),
                g("surat_suara.dikembalikan", 0), g("surat_suara.sisa", 0),
                xl, xp, xl + xp, *[g(k, 0) for k in suara],
                g("suara_sah", 0), g("suara_tidak_sah", 0), g("suara_total", 0)]

    return baca


def tambah(jumlah: list, angka: list) -> list:
    try:
        return list(map(operator.add, jumlah, angka))
    except TypeError:  # a missing number in a record: count what is there
        return [a + b if b is not None else a for a, b in zip(jumlah, angka)]


def progres(r: Mapping[str, Any]) -> tuple[int, int, int]:
    """(TPS masuk, TPS total, perlu periksa) of a region, or of a TPS listed as a child."""
    nilai = r.get("progres")
    if nilai is None and "status" in r:  # a TPS as the child of a desa
        status = r.get("status") or "belum"
        return (0 if status == "belum" else 1), 1, (1 if status == "perlu_periksa" else 0)
    nilai = nilai or KOSONG
    return (
        nilai.get("tps_masuk") or 0,
        nilai.get("tps_total") or 0,
        r.get("tps_perlu_periksa") or 0,
    )
