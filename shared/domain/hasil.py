"""The C.Hasil value: the numbers a KPPS writes on the form.

A result is stored and summed as `angka`: a flat dict from a dotted field
path to a whole number. Only the boxes that are counted, never the ones
derived from them (every J and the pengguna total), so a sum of results is a
plain key-wise sum and the derived boxes are recomputed for display.

    pemilih.dpt.l  pemilih.dpt.p                      I.A   DPT
    pengguna.dpt.l ... pengguna.dpk.p                 I.B.1-3 voters by list
    disabilitas.l  disabilitas.p                      III   disabled voters
    surat_suara.diterima ... surat_suara.sisa         II    ballots
    suara.1 ... suara.N                               IV    votes per paslon
    suara_sah  suara_tidak_sah  suara_total           V
"""

from collections.abc import Iterable, Mapping

JENIS_PEMILIH = ("dpt", "dptb", "dpk")
SURAT_SUARA = ("diterima", "digunakan", "dikembalikan", "sisa")
SUARA_V = ("suara_sah", "suara_tidak_sah", "suara_total")


def kolom(paslon: Iterable[int]) -> list[str]:
    """Every counted field of a contest's form, in the order of the paper form."""
    keys = ["pemilih.dpt.l", "pemilih.dpt.p"]
    keys += [f"pengguna.{jenis}.{jk}" for jenis in JENIS_PEMILIH for jk in "lp"]
    keys += ["disabilitas.l", "disabilitas.p"]
    keys += [f"surat_suara.{s}" for s in SURAT_SUARA]
    keys += [f"suara.{n}" for n in sorted(paslon)]
    keys += list(SUARA_V)
    return keys


def ratakan(isian: Mapping) -> dict[str, int]:
    """Flatten a submitted body (already type-checked) into `angka`.

    Boxes the form derives (J, pengguna total) are left out: rules check
    them against the counted boxes, sums recompute them.
    """
    angka: dict[str, int] = {}
    angka["pemilih.dpt.l"] = isian["pemilih"]["dpt"]["l"]
    angka["pemilih.dpt.p"] = isian["pemilih"]["dpt"]["p"]
    for jenis in JENIS_PEMILIH:
        for jk in "lp":
            angka[f"pengguna.{jenis}.{jk}"] = isian["pengguna"][jenis][jk]
    angka["disabilitas.l"] = isian["disabilitas"]["l"]
    angka["disabilitas.p"] = isian["disabilitas"]["p"]
    for s in SURAT_SUARA:
        angka[f"surat_suara.{s}"] = isian["surat_suara"][s]
    for nomor, votes in isian["suara"].items():
        angka[f"suara.{int(nomor)}"] = votes
    for key in SUARA_V:
        angka[key] = isian[key]
    return angka


def _lpj(angka: Mapping[str, int], prefix: str) -> dict[str, int]:
    laki, perempuan = angka.get(f"{prefix}.l", 0), angka.get(f"{prefix}.p", 0)
    return {"l": laki, "p": perempuan, "j": laki + perempuan}


def susun(angka: Mapping[str, int], paslon: Iterable[int]) -> dict:
    """The nested shape of the API (submission body, summed), derived boxes filled in."""
    pengguna = {jenis: _lpj(angka, f"pengguna.{jenis}") for jenis in JENIS_PEMILIH}
    pengguna["total"] = {
        jk: sum(pengguna[jenis][jk] for jenis in JENIS_PEMILIH) for jk in ("l", "p", "j")
    }
    return {
        "suara": {str(n): angka.get(f"suara.{n}", 0) for n in sorted(paslon)},
        "suara_sah": angka.get("suara_sah", 0),
        "suara_tidak_sah": angka.get("suara_tidak_sah", 0),
        "suara_total": angka.get("suara_total", 0),
        "pemilih": {"dpt": _lpj(angka, "pemilih.dpt")},
        "pengguna": pengguna,
        "disabilitas": _lpj(angka, "disabilitas"),
        "surat_suara": {s: angka.get(f"surat_suara.{s}", 0) for s in SURAT_SUARA},
    }


def dpt(angka: Mapping[str, int]) -> int:
    return angka.get("pemilih.dpt.l", 0) + angka.get("pemilih.dpt.p", 0)


def pengguna_total(angka: Mapping[str, int], jk: str | None = None) -> int:
    sexes = (jk,) if jk else ("l", "p")
    return sum(angka.get(f"pengguna.{jenis}.{s}", 0) for jenis in JENIS_PEMILIH for s in sexes)


def kapasitas(dpt_j: int) -> int:
    """Ballots a TPS can hold: DPT plus the 2% reserve, rounded up (integers, no float error)."""
    return (dpt_j * 102 + 99) // 100
