"""The rules a C.Hasil obeys (domain.md), each a pure function returning findings.

Two kinds, by what the law and the 2024 misreads teach:
- an impossibility (`tolak`): no real TPS can produce it (more DPT voters than
  DPT, votes beyond the ballots the TPS held, a box above 999). The result is
  rejected and counted nowhere: this is what stops a "905 read for 105".
- a broken identity (not `tolak`): honest paper forms break sums by mistake.
  The result is accepted and counted, and flagged `perlu_periksa` for the PPK.

Each finding has a stable `kode` (clients and dashboards key on it), a message
in Bahasa Indonesia (`pesan`) and English (`message`) naming the boxes to
fix, and the dotted `fields` of the body involved.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from .hasil import JENIS_PEMILIH, SURAT_SUARA, kapasitas

MAKS_KOTAK = 999  # every number box on the paper form has three digits

# The form's own names for each box, so a message points at the paper.
LABEL = {
    "pemilih.dpt": "I.A (DPT)",
    "pengguna.dpt": "I.B.1 (pengguna hak pilih DPT)",
    "pengguna.dptb": "I.B.2 (pengguna hak pilih DPTb)",
    "pengguna.dpk": "I.B.3 (pengguna hak pilih DPK)",
    "pengguna.total": "I.B.4 (jumlah pengguna hak pilih)",
    "disabilitas": "III (pemilih disabilitas)",
    "surat_suara.diterima": "II.1 (surat suara diterima)",
    "surat_suara.digunakan": "II.2 (surat suara digunakan)",
    "surat_suara.dikembalikan": "II.3 (surat suara dikembalikan)",
    "surat_suara.sisa": "II.4 (surat suara tidak digunakan)",
    "suara": "IV (jumlah suara paslon)",
    "suara_sah": "V.A (suara sah)",
    "suara_tidak_sah": "V.B (suara tidak sah)",
    "suara_total": "V.C (jumlah suara sah dan tidak sah)",
}


def label(path: str) -> str:
    if path in LABEL:
        return LABEL[path]
    if path.startswith("suara."):
        return f"IV (suara paslon {path.split('.')[1]})"
    stem, _, jk = path.rpartition(".")
    if stem in LABEL and jk in ("l", "p", "j"):
        return f"{LABEL[stem]} {jk.upper()}"
    return path


@dataclass(frozen=True)
class Temuan:
    """A finding: one broken rule, with what to fix."""

    kode: str
    pesan: str
    message: str
    fields: tuple[str, ...] = field(default_factory=tuple)
    tolak: bool = False  # an impossibility: the result is rejected

    def as_dict(self) -> dict:
        return {"kode": self.kode, "pesan": self.pesan, "message": self.message, "fields": list(self.fields)}


def _lpj_blocks(isian: Mapping) -> dict[str, Mapping]:
    """Every L/P(/J) block of the body, by its dotted path."""
    blocks = {"pemilih.dpt": isian["pemilih"]["dpt"], "disabilitas": isian["disabilitas"]}
    for jenis in (*JENIS_PEMILIH, "total"):
        if jenis in isian["pengguna"]:
            blocks[f"pengguna.{jenis}"] = isian["pengguna"][jenis]
    return blocks


def _j(block: Mapping) -> int:
    return block["l"] + block["p"]


def _pengguna_j(isian: Mapping) -> int:
    return sum(_j(isian["pengguna"][jenis]) for jenis in JENIS_PEMILIH)


def _boxes(isian: Mapping) -> dict[str, int]:
    """Every number written on the form, given J boxes included."""
    boxes = {}
    for path, block in _lpj_blocks(isian).items():
        for jk in ("l", "p", "j"):
            if jk in block:
                boxes[f"{path}.{jk}"] = block[jk]
    for s in SURAT_SUARA:
        boxes[f"surat_suara.{s}"] = isian["surat_suara"][s]
    for nomor, votes in isian["suara"].items():
        boxes[f"suara.{nomor}"] = votes
    for key in ("suara_sah", "suara_tidak_sah", "suara_total"):
        boxes[key] = isian[key]
    return boxes


def _daftar(pairs: list[tuple[str, int]]) -> str:
    return ", ".join(f"{label(p)} = {v}" for p, v in pairs)


# --- impossibilities: the result is rejected ---------------------------------


def rentang(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    out = [(p, v) for p, v in _boxes(isian).items() if not 0 <= v <= MAKS_KOTAK]
    if not out:
        return []
    return [Temuan(
        "ANGKA_DI_LUAR_RENTANG",
        f"Angka harus 0 sampai {MAKS_KOTAK} (tiga kotak angka): {_daftar(out)}. Periksa kembali isian ini.",
        f"Each box holds 0 to {MAKS_KOTAK} (three digits): {_daftar(out)}. Check these boxes again.",
        tuple(p for p, _ in out), tolak=True)]


def paslon_sesuai(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    given = sorted(int(n) for n in isian["suara"])
    if given == sorted(paslon):
        return []
    expected = ", ".join(str(n) for n in sorted(paslon))
    return [Temuan(
        "PASLON_TIDAK_SESUAI",
        f"Suara harus diisi untuk tepat paslon nomor {expected}; yang dikirim: {', '.join(map(str, given)) or 'tidak ada'}.",
        f"Votes must be given for exactly paslon {expected}; received: {', '.join(map(str, given)) or 'none'}.",
        ("suara",), tolak=True)]


def pengguna_dpt_melebihi_dpt(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    dpt, used = isian["pemilih"]["dpt"], isian["pengguna"]["dpt"]
    over = [jk for jk in ("l", "p") if used[jk] > dpt[jk]]
    if _j(used) > _j(dpt):
        over.append("j")
    if not over:
        return []
    pairs = [(f"pengguna.dpt.{jk}", used[jk] if jk != "j" else _j(used)) for jk in over]
    limits = [(f"pemilih.dpt.{jk}", dpt[jk] if jk != "j" else _j(dpt)) for jk in over]
    return [Temuan(
        "PENGGUNA_DPT_MELEBIHI_DPT",
        f"Pengguna hak pilih dari DPT melebihi DPT: {_daftar(pairs)} lebih dari {_daftar(limits)}. "
        "Tidak mungkin; periksa kembali I.A dan I.B.1.",
        f"Voters from the DPT exceed the DPT: {_daftar(pairs)} above {_daftar(limits)}. "
        "Impossible; check boxes I.A and I.B.1.",
        tuple(p for p, _ in pairs + limits), tolak=True)]


def melebihi_kapasitas(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    dpt_j = _j(isian["pemilih"]["dpt"])
    cap = kapasitas(dpt_j)
    counts = {}
    for jenis in JENIS_PEMILIH:
        block = isian["pengguna"][jenis]
        counts.update({f"pengguna.{jenis}.l": block["l"], f"pengguna.{jenis}.p": block["p"],
                       f"pengguna.{jenis}.j": _j(block)})
    counts["pengguna.total.j"] = _pengguna_j(isian)
    counts.update({f"suara.{n}": v for n, v in isian["suara"].items()})
    counts["suara"] = sum(isian["suara"].values())
    for key in ("suara_sah", "suara_tidak_sah", "suara_total"):
        counts[key] = isian[key]
    over = [(p, v) for p, v in counts.items() if v > cap]
    if not over:
        return []
    return [Temuan(
        "MELEBIHI_KAPASITAS",
        f"Melebihi surat suara yang mungkin ada di TPS ini (DPT {dpt_j} + cadangan 2% = {cap}): {_daftar(over)}. "
        "Kemungkinan salah tulis atau salah baca angka; periksa kembali.",
        f"More than the ballots this TPS could hold (DPT {dpt_j} + 2% reserve = {cap}): {_daftar(over)}. "
        "Probably a mis-written or misread digit; check again.",
        tuple(p for p, _ in over) + ("pemilih.dpt.j",), tolak=True)]


def disabilitas_melebihi_pengguna(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    dis = isian["disabilitas"]
    used = {jk: sum(isian["pengguna"][jenis][jk] for jenis in JENIS_PEMILIH) for jk in ("l", "p")}
    used["j"] = used["l"] + used["p"]
    dis_j = {"l": dis["l"], "p": dis["p"], "j": _j(dis)}
    over = [jk for jk in ("l", "p", "j") if dis_j[jk] > used[jk]]
    if not over:
        return []
    pairs = [(f"disabilitas.{jk}", dis_j[jk]) for jk in over]
    limits = [(f"pengguna.total.{jk}", used[jk]) for jk in over]
    return [Temuan(
        "DISABILITAS_MELEBIHI_PENGGUNA",
        f"Pemilih disabilitas melebihi pengguna hak pilih: {_daftar(pairs)} lebih dari {_daftar(limits)}. "
        "Periksa kembali bagian III dan I.B.",
        f"Disabled voters exceed all voters: {_daftar(pairs)} above {_daftar(limits)}. "
        "Check sections III and I.B again.",
        tuple(p for p, _ in pairs + limits), tolak=True)]


# --- broken identities: accepted, counted, flagged perlu_periksa -------------


def jumlah_lp(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    wrong = [(f"{path}.j", block["j"], _j(block)) for path, block in _lpj_blocks(isian).items()
             if "j" in block and block["j"] != _j(block)]
    if not wrong:
        return []
    id_ = "; ".join(f"{label(p)} = {v}, seharusnya L + P = {s}" for p, v, s in wrong)
    en = "; ".join(f"{label(p)} = {v}, should be L + P = {s}" for p, v, s in wrong)
    return [Temuan("JUMLAH_LP_TIDAK_SESUAI", f"Jumlah (J) tidak sama dengan L + P: {id_}.",
                   f"Total (J) is not L + P: {en}.", tuple(p for p, _, _ in wrong))]


def pengguna_total(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    total = isian["pengguna"].get("total")
    if total is None:
        return []
    wrong = [jk for jk in ("l", "p") if total[jk] != sum(isian["pengguna"][j][jk] for j in JENIS_PEMILIH)]
    if not wrong:
        return []
    return [Temuan(
        "PENGGUNA_TOTAL_TIDAK_SESUAI",
        "I.B.4 (jumlah pengguna hak pilih) tidak sama dengan I.B.1 + I.B.2 + I.B.3 untuk "
        + ", ".join(jk.upper() for jk in wrong) + ".",
        "I.B.4 (total voters) is not I.B.1 + I.B.2 + I.B.3 for " + ", ".join(jk.upper() for jk in wrong) + ".",
        tuple(f"pengguna.total.{jk}" for jk in wrong))]


def suara_sah_jumlah(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    total = sum(isian["suara"].values())
    if isian["suara_sah"] == total:
        return []
    return [Temuan(
        "SUARA_SAH_TIDAK_SESUAI",
        f"V.A (suara sah) = {isian['suara_sah']}, padahal jumlah suara semua paslon (IV) = {total}.",
        f"V.A (valid votes) = {isian['suara_sah']}, but the votes of all paslon (IV) add up to {total}.",
        ("suara_sah", "suara"))]


def suara_total_jumlah(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    total = isian["suara_sah"] + isian["suara_tidak_sah"]
    if isian["suara_total"] == total:
        return []
    return [Temuan(
        "SUARA_TOTAL_TIDAK_SESUAI",
        f"V.C = {isian['suara_total']}, padahal V.A + V.B = {total}.",
        f"V.C = {isian['suara_total']}, but V.A + V.B = {total}.",
        ("suara_total", "suara_sah", "suara_tidak_sah"))]


def surat_suara_jumlah(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    ss = isian["surat_suara"]
    total = ss["digunakan"] + ss["dikembalikan"] + ss["sisa"]
    if ss["diterima"] == total:
        return []
    return [Temuan(
        "SURAT_SUARA_TIDAK_SESUAI",
        f"II.1 (surat suara diterima) = {ss['diterima']}, padahal II.2 + II.3 + II.4 = {total}.",
        f"II.1 (ballots received) = {ss['diterima']}, but II.2 + II.3 + II.4 = {total}.",
        tuple(f"surat_suara.{s}" for s in SURAT_SUARA))]


def suara_vs_surat_suara(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    used = isian["surat_suara"]["digunakan"]
    if isian["suara_total"] == used:
        return []
    return [Temuan(
        "SURAT_SUARA_DIGUNAKAN_TIDAK_SESUAI",
        f"V.C (jumlah suara) = {isian['suara_total']}, padahal II.2 (surat suara digunakan) = {used}.",
        f"V.C (votes cast) = {isian['suara_total']}, but II.2 (ballots used) = {used}.",
        ("suara_total", "surat_suara.digunakan"))]


def suara_vs_pengguna(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    voters = _pengguna_j(isian)
    if isian["suara_total"] == voters:
        return []
    return [Temuan(
        "PENGGUNA_TIDAK_SESUAI_SUARA",
        f"V.C (jumlah suara) = {isian['suara_total']}, padahal I.B.4 (jumlah pengguna hak pilih) = {voters}.",
        f"V.C (votes cast) = {isian['suara_total']}, but I.B.4 (voters) = {voters}.",
        ("suara_total", "pengguna.total.j"))]


ATURAN = (
    rentang, paslon_sesuai, pengguna_dpt_melebihi_dpt, melebihi_kapasitas, disabilitas_melebihi_pengguna,
    jumlah_lp, pengguna_total, suara_sah_jumlah, suara_total_jumlah, surat_suara_jumlah,
    suara_vs_surat_suara, suara_vs_pengguna,
)

KODE_TOLAK = frozenset({
    "ANGKA_DI_LUAR_RENTANG", "PASLON_TIDAK_SESUAI", "PENGGUNA_DPT_MELEBIHI_DPT",
    "MELEBIHI_KAPASITAS", "DISABILITAS_MELEBIHI_PENGGUNA",
})


def periksa(isian: Mapping, paslon: list[int]) -> list[Temuan]:
    """Every finding of every rule on a type-checked body."""
    return [t for rule in ATURAN for t in rule(isian, paslon)]


def status(temuan: list[Temuan]) -> str:
    """`ditolak` on any impossibility, else `perlu_periksa` on any finding, else `diterima`."""
    if any(t.tolak for t in temuan):
        return "ditolak"
    return "perlu_periksa" if temuan else "diterima"
