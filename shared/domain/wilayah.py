"""Region codes (kode wilayah): each level's code is a prefix of the next.

    provinsi 35 -> kabupaten 3517 -> kecamatan 351714 -> desa 3517142001 -> TPS 3517142001001

The whole country has one root, NASIONAL, above the provinsi.
"""

NASIONAL = "0"

# tingkat (level) by the length of its code, top down.
PANJANG = {"nasional": 1, "provinsi": 2, "kabupaten": 4, "kecamatan": 6, "desa": 10, "tps": 13}
TINGKAT = list(PANJANG)
_TINGKAT_BY_LENGTH = {n: t for t, n in PANJANG.items() if t != "nasional"}


def tingkat(kode: str) -> str:
    """The level of a region code, or ValueError for a code of no level."""
    if kode == NASIONAL:
        return "nasional"
    if not kode.isdigit() or len(kode) not in _TINGKAT_BY_LENGTH:
        raise ValueError(f"kode wilayah tidak dikenal: {kode!r}")
    return _TINGKAT_BY_LENGTH[len(kode)]


def induk(kode: str) -> str | None:
    """The parent code: a prefix, so walking up needs no lookup."""
    level = tingkat(kode)
    if level == "nasional":
        return None
    if level == "provinsi":
        return NASIONAL
    return kode[: PANJANG[TINGKAT[TINGKAT.index(level) - 1]]]


def leluhur(kode: str) -> list[str]:
    """Every ancestor, nearest first, up to NASIONAL."""
    out = []
    parent = induk(kode)
    while parent is not None:
        out.append(parent)
        parent = induk(parent)
    return out


def di_dalam(kode: str, lingkup: str) -> bool:
    """True when `kode` is `lingkup` itself or lies under it."""
    return lingkup == NASIONAL or kode.startswith(lingkup)


def nomor_tps(tps_reguler: int, tps_khusus: str) -> list[int]:
    """TPS numbers of a desa: 1..N, plus special ones ("901" or "901-903")."""
    numbers = list(range(1, tps_reguler + 1))
    khusus = (tps_khusus or "").strip()
    if khusus:
        first, _, last = khusus.partition("-")
        numbers.extend(range(int(first), int(last or first) + 1))
    return numbers


def kode_tps(kode_desa: str, nomor: int) -> str:
    return f"{kode_desa}{nomor:03d}"


def nama_tps(nomor: int) -> str:
    return f"TPS {nomor:03d}"
