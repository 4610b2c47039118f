"""Sirekap 2024's public JSON and rekap's C.Hasil, both ways (domain.md).

Pure mapping: no Flask, no SQL. `baca_tps` turns one Sirekap per-TPS file
into a C.Hasil body the rules can judge; `tps_json`, `daftar_wilayah` and
the `jalur_*` functions build Sirekap-shaped files and their paths from
rekap's stored numbers (the per-region aggregate shape lives in
services.export.sirekap, one writer for the API and the files alike).

What Sirekap's JSON holds, box by box:

    administrasi.pemilih_dpt_{l,p,j}       I.A    pemilih.dpt
    administrasi.pengguna_dpt_{l,p,j}      I.B.1  pengguna.dpt
    administrasi.pengguna_dptb_{l,p,j}     I.B.2  pengguna.dptb
    administrasi.pengguna_non_dpt_{l,p,j}  I.B.3  pengguna.dpk
    administrasi.pengguna_total_{l,p,j}    I.B.4  pengguna.total (optional, checked)
    chart.<sirekap id>                     IV     suara.<nomor urut>
    administrasi.suara_{sah,tidak_sah,total}  V

Sirekap never published section II (surat suara, ballots) nor III
(disabilitas): they are *not reported*, never filled in. A body read from
Sirekap simply lacks those blocks, and `TIDAK_DILAPORKAN` names them.

Nothing is guessed: a null or missing `administrasi`, `chart`, L or P box
makes the file `tidak_lengkap` (incomplete), listed box by box. J boxes and
I.B.4 are derived on the paper form, so a null J is left out (and then not
checked) rather than counted as missing. A value that is present but not a
whole number is passed on unchanged, so the body schema rejects it exactly
as it would reject the same value sent to the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.domain import hasil
from shared.domain import wilayah as w

WIB = timezone(timedelta(hours=7))  # Sirekap prints its time stamps in Western Indonesia Time
TS_FORMAT = "%Y-%m-%d %H:%M:%S"
MODE = "hhcw"

# administrasi key stem -> (block, list) of the C.Hasil body
ADMINISTRASI = {
    "pemilih_dpt": ("pemilih", "dpt"),
    "pengguna_dpt": ("pengguna", "dpt"),
    "pengguna_dptb": ("pengguna", "dptb"),
    "pengguna_non_dpt": ("pengguna", "dpk"),
    "pengguna_total": ("pengguna", "total"),
}
OPSIONAL = frozenset({"pengguna_total"})  # I.B.4 is derived: checked when given, never required
SUARA_V = hasil.SUARA_V

# Blocks of the form that Sirekap's JSON never had.
TIDAK_ADA = ("surat_suara", "disabilitas")

# Keys of `chart` that are not candidates: Sirekap's own "null" artifact, and the aggregate's share.
BUKAN_PASLON = frozenset({"null", "persen"})

# Sirekap's region levels (the `tingkat` of its region lists).
TINGKAT = {"provinsi": 1, "kabupaten": 2, "kecamatan": 3, "desa": 4, "tps": 5}


@dataclass
class Bacaan:
    """One Sirekap per-TPS file, read.

    `body` is the C.Hasil body (without the blocks Sirekap lacks), None when
    the file is incomplete or not a Sirekap TPS object. `kurang` lists what
    is missing (dotted Sirekap names), `temuan` the findings of the mapping
    itself (a candidate id that is no paslon of the contest), `tidak_dilaporkan`
    the body blocks Sirekap never reports."""

    body: dict | None
    kurang: list[str] = field(default_factory=list)
    temuan: list[dict] = field(default_factory=list)
    tidak_dilaporkan: tuple[str, ...] = TIDAK_ADA
    ts: datetime | None = None
    meta: dict = field(default_factory=dict)

    @property
    def lengkap(self) -> bool:
        return self.body is not None and not self.kurang


def _temuan(kode: str, pesan: str, message: str, fields: Iterable[str]) -> dict:
    return {"kode": kode, "pesan": pesan, "message": message, "fields": list(fields)}


def temuan_kurang(kurang: list[str]) -> dict:
    daftar = ", ".join(kurang)
    return _temuan("TIDAK_LENGKAP",
                   f"Data Sirekap tidak lengkap, tidak dinilai dan tidak dihitung: {daftar} kosong.",
                   f"The Sirekap data is incomplete, neither judged nor counted: {daftar} missing.", kurang)


def temuan_tidak_dilaporkan(blok: Iterable[str]) -> dict:
    blok = list(blok)
    nama_id = {"surat_suara": "II (surat suara)", "disabilitas": "III (pemilih disabilitas)"}
    nama_en = {"surat_suara": "II (ballots)", "disabilitas": "III (disabled voters)"}
    return _temuan(
        "TIDAK_DILAPORKAN",
        f"Sirekap tidak memuat bagian {', '.join(nama_id.get(b, b) for b in blok)}: dicatat tidak dilaporkan "
        "(bukan nol), dan aturan yang memerlukannya tidak diperiksa.",
        f"Sirekap does not publish section {', '.join(nama_en.get(b, b) for b in blok)}: recorded as not "
        "reported (not zero), and the rules that need it were not checked.", blok)


def parse_ts(value: Any) -> datetime | None:
    """Sirekap's `ts` ("2024-02-16 11:00:29", WIB) as an aware datetime; None if absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), TS_FORMAT).replace(tzinfo=WIB)
    except ValueError:
        return None


def format_ts(when: datetime | None) -> str | None:
    return when.astimezone(WIB).strftime(TS_FORMAT) if when else None


def _lpj(adm: Mapping, stem: str, kurang: list[str], wajib: bool) -> dict | None:
    """One L/P(/J) block of `administrasi`; None when L or P is null (listed in `kurang` if required)."""
    missing = [f"administrasi.{stem}_{jk}" for jk in ("l", "p") if adm.get(f"{stem}_{jk}") is None]
    if missing:
        if wajib:
            kurang.extend(missing)
        return None
    block = {"l": adm[f"{stem}_l"], "p": adm[f"{stem}_p"]}
    if adm.get(f"{stem}_j") is not None:
        block["j"] = adm[f"{stem}_j"]
    return block


def baca_tps(data: Any, paslon: Mapping[str, int]) -> Bacaan:
    """Read one Sirekap per-TPS object; `paslon` maps Sirekap candidate id -> nomor urut."""
    if not isinstance(data, dict):
        return Bacaan(None, [], [_temuan(
            "BUKAN_DATA_TPS", "Berkas bukan objek JSON data TPS Sirekap.",
            "The file is not a Sirekap TPS JSON object.", ["berkas"])])
    meta = {key: data.get(key) for key in ("mode", "psu", "status_suara", "status_adm", "images") if key in data}
    kurang: list[str] = []
    temuan: list[dict] = []
    body: dict = {}

    adm = data.get("administrasi")
    if not isinstance(adm, dict):
        kurang.append("administrasi")
    else:
        for stem, (blok, jenis) in ADMINISTRASI.items():
            lpj = _lpj(adm, stem, kurang, wajib=stem not in OPSIONAL)
            if lpj is not None:
                body.setdefault(blok, {})[jenis] = lpj
        for key in SUARA_V:
            if adm.get(key) is None:
                kurang.append(f"administrasi.{key}")
            else:
                body[key] = adm[key]

    chart = data.get("chart")
    if not isinstance(chart, dict):
        kurang.append("chart")
    else:
        suara = {}
        unknown = sorted(str(k) for k in chart if str(k) not in BUKAN_PASLON and str(k) not in paslon)
        for sid, nomor in sorted(paslon.items(), key=lambda item: item[1]):
            if chart.get(sid) is None:
                kurang.append(f"chart.{sid}")
            else:
                suara[str(nomor)] = chart[sid]
        body["suara"] = suara
        if unknown:
            temuan.append(_temuan(
                "PASLON_SIREKAP_TIDAK_DIKENAL",
                f"Kode calon Sirekap {', '.join(unknown)} bukan paslon kontes ini "
                f"(yang dikenal: {', '.join(sorted(paslon)) or 'tidak ada'}). Tidak dihitung.",
                f"Sirekap candidate id {', '.join(unknown)} is no paslon of this contest "
                f"(known: {', '.join(sorted(paslon)) or 'none'}). Not counted.",
                [f"chart.{k}" for k in unknown]))
    return Bacaan(None if kurang else body, kurang, temuan, TIDAK_ADA, parse_ts(data.get("ts")), meta)


# --- rekap -> Sirekap ---------------------------------------------------------


def _bagian(kode: str) -> list[str]:
    """The codes of a region and its ancestors, top down, without the national root."""
    return [*reversed([k for k in w.leluhur(kode) if k != w.NASIONAL]), kode]


def jalur_hasil(kontes: str, kode: str) -> str:
    """Where Sirekap keeps a region's aggregate (or a TPS's own) file:
    pemilu/hhcw/ppwp.json, pemilu/hhcw/ppwp/35/3517.json, .../3517142001/3517142001001.json."""
    if kode == w.NASIONAL:
        return f"pemilu/{MODE}/{kontes}.json"
    return f"pemilu/{MODE}/{kontes}/" + "/".join(_bagian(kode)) + ".json"


def jalur_wilayah(kontes: str, kode: str) -> str:
    """Where Sirekap lists a region's children: wilayah/pemilu/ppwp/0.json, wilayah/pemilu/ppwp/35/3517.json."""
    if kode == w.NASIONAL:
        return f"wilayah/pemilu/{kontes}/0.json"
    return f"wilayah/pemilu/{kontes}/" + "/".join(_bagian(kode)) + ".json"


def daftar_wilayah(anak: Iterable[tuple[str, str]]) -> list[dict]:
    """A region list in Sirekap's shape from (kode, nama) of the children."""
    return [{"nama": nama, "id": int(kode), "kode": kode, "tingkat": TINGKAT[w.tingkat(kode)]}
            for kode, nama in anak]


def tps_json(angka: Mapping[str, int] | None, paslon: list[tuple[int, str]], *, ts: datetime | None = None,
             images: list[str] | None = None, extra: dict | None = None) -> dict:
    """A TPS result in Sirekap's per-TPS shape. `angka` is the stored flat result (None: not
    reported), `paslon` (nomor urut, Sirekap id) pairs; `extra` is added under `rekap`."""
    out: dict = {"mode": MODE, "chart": None, "images": list(images or []), "administrasi": None,
                 "psu": None, "ts": format_ts(ts), "status_suara": False, "status_adm": False}
    if angka is not None:
        out["chart"] = {**{sid: angka.get(f"suara.{nomor}", 0) for nomor, sid in paslon}, "null": None}
        adm = {key: angka.get(key, 0) for key in SUARA_V}
        for stem, (blok, jenis) in ADMINISTRASI.items():
            if jenis == "total":
                lp = {jk: hasil.pengguna_total(angka, jk) for jk in ("l", "p")}
            else:
                lp = {jk: angka.get(f"{blok}.{jenis}.{jk}", 0) for jk in ("l", "p")}
            adm.update({f"{stem}_l": lp["l"], f"{stem}_p": lp["p"], f"{stem}_j": lp["l"] + lp["p"]})
        out["administrasi"] = dict(sorted(adm.items()))
        out["status_suara"] = out["status_adm"] = True
    if extra:
        out["rekap"] = extra
    return out
