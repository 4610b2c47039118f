"""What every sheet of one workbook shares: the region, its level, the contest
and its paslon, the titles and the footer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from services.export.workbook import kolom, tata
from services.export.workbook.nilai import teks, waktu_utc


@dataclass
class Konteks:
    rekap: Mapping[str, Any]
    kontes: Mapping[str, Any]
    tingkat: tata.Tingkat
    paslon: list[kolom.Paslon]
    kunci_paslon: list[tuple[str, int | None]]
    kelompok: list[tuple[str, list[tuple[str, str]]]]
    judul: str
    nama_kontes: str
    catatan_kaki: str
    dibuat: datetime
    versi_data: int | str

    @property
    def n_angka(self) -> int:
        return kolom.N_AWAL + len(self.paslon) + 3

    @property
    def i_sah(self) -> int:
        """Index of suara sah in the number block."""
        return kolom.N_AWAL + len(self.paslon)


def konteks(rekap: Mapping[str, Any], kontes: Mapping[str, Any], dibuat: datetime,
            versi_data: int | str) -> Konteks:
    tingkat = tata.tingkat(rekap.get("tingkat"))
    paslon = kolom.daftar_paslon(kontes, rekap)
    kunci_paslon = []
    for p in paslon:
        try:
            nomor = int(p.nomor)
        except (TypeError, ValueError):
            nomor = None
        kunci_paslon.append((p.kunci, nomor))
    nama_wilayah = f"{tata.sebutan(rekap.get('tingkat'), rekap.get('nama') or '')} ({rekap.get('kode') or '-'})"
    nama_kontes = kontes.get("nama") or kontes.get("kode") or rekap.get("kontes") or ""
    waktu = waktu_utc(dibuat)
    waktu = waktu.strftime("%Y-%m-%d %H:%M UTC") if isinstance(waktu, datetime) else str(waktu)
    return Konteks(
        rekap=rekap, kontes=kontes, tingkat=tingkat, paslon=paslon, kunci_paslon=kunci_paslon,
        kelompok=kolom.kelompok(paslon),
        judul=teks(f"{tingkat.formulir} - {nama_wilayah}"),
        nama_kontes=teks(nama_kontes),
        catatan_kaki=f"rekap | {nama_wilayah} | {nama_kontes} | dibuat {waktu} | versi data {versi_data}",
        dibuat=dibuat, versi_data=versi_data,
    )
