"""Reading a workbook column's value back out of the recap JSON, for tests of the D.Hasil sheets."""


def nilai(r: dict, kunci: str):
    """The value of one number-block column (see kunci_angka) in a recap JSON record."""
    if kunci in ("suara_sah", "suara_tidak_sah", "suara_total"):
        return r[kunci]
    if kunci.startswith("suara_"):
        return r["suara"][kunci[len("suara_"):]]
    if kunci.startswith("surat_suara_"):
        return r["surat_suara"][kunci[len("surat_suara_"):]]
    bagian = kunci.split("_")
    if bagian[0] == "disabilitas":
        return r["disabilitas"][bagian[1]]
    return r[bagian[0]][bagian[1]][bagian[2]]
