"""Summing results up the hierarchy: a region's recap is the sum of its children.

Recompute, never increment: a rollup always sums the children's current
rows, so a duplicated, retried or reordered rollup gives the same answer.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass
class Rekap:
    """The recap of one region (or one TPS): summed `angka` plus progress."""

    angka: dict[str, int] = field(default_factory=dict)
    tps_masuk: int = 0  # TPS with a current result
    tps_total: int = 0  # TPS expected
    tps_perlu_periksa: int = 0  # TPS whose current result is flagged

    @classmethod
    def dari_hasil(cls, angka: Mapping[str, int], status: str) -> "Rekap":
        return cls(dict(angka), 1, 1, int(status == "perlu_periksa"))


def jumlahkan(anak: Iterable[Rekap], tps_total: int | None = None) -> Rekap:
    """The sum of children; `tps_total` overrides the children's count where the
    expected TPS are known from the region list (a desa whose TPS have not all reported)."""
    angka: Counter = Counter()
    total = Rekap()
    for child in anak:
        angka.update(child.angka)
        total.tps_masuk += child.tps_masuk
        total.tps_total += child.tps_total
        total.tps_perlu_periksa += child.tps_perlu_periksa
    total.angka = dict(angka)
    if tps_total is not None:
        total.tps_total = tps_total
    return total


def persen(bagian: int, keseluruhan: int) -> float:
    """A share in percent with two decimals; 0 for an empty whole."""
    return round(100.0 * bagian / keseluruhan, 2) if keseluruhan else 0.0


def progres(rekap: Rekap) -> dict:
    return {"tps_masuk": rekap.tps_masuk, "tps_total": rekap.tps_total,
            "persen": persen(rekap.tps_masuk, rekap.tps_total)}
