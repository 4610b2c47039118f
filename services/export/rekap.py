"""Reading the stored recap into the JSON of api.md (also the workbook's input),
and the TPS of a region as a stream for the workbook."""

from collections.abc import Iterator

from sqlalchemy import Connection, text

from shared.domain import hasil
from shared.domain import wilayah as w
from shared.domain.rekap import Rekap, progres


def paslon(conn: Connection, kontes: str) -> list[dict] | None:
    rows = conn.execute(text("""SELECT nomor_urut, nama, sirekap_id FROM paslon WHERE kontes = :k
                                ORDER BY nomor_urut"""), {"k": kontes}).all()
    return [{"nomor_urut": r.nomor_urut, "nama": r.nama, "sirekap_id": r.sirekap_id} for r in rows] or None


def kontes_info(conn: Connection, kontes: str) -> dict | None:
    nama = conn.execute(text("SELECT nama FROM kontes WHERE kode = :k"), {"k": kontes}).scalar()
    if nama is None:
        return None
    return {"kode": kontes, "nama": nama, "paslon": paslon(conn, kontes)}


def _fields(r: Rekap, numbers: list[int]) -> dict:
    return {**hasil.susun(r.angka, numbers), "progres": progres(r), "tps_perlu_periksa": r.tps_perlu_periksa}


def region(conn: Connection, kontes: str, kode: str) -> dict | None:
    """The recap of one region with every child, reported or not; None if unknown."""
    row = conn.execute(text("""
        SELECT r.kode, w.nama, r.tingkat, r.angka, r.tps_masuk, r.tps_total, r.tps_perlu_periksa,
               r.versi, r.diperbarui
        FROM rekap r JOIN wilayah w ON w.kode = r.kode WHERE r.kontes = :k AND r.kode = :w"""),
        {"k": kontes, "w": kode}).first()
    if row is None:
        return None
    numbers = [p["nomor_urut"] for p in paslon(conn, kontes) or []]
    own = Rekap(row.angka, row.tps_masuk, row.tps_total, row.tps_perlu_periksa)
    anak = tps_rows(conn, kontes, kode, numbers) if row.tingkat == "desa" else _child_regions(conn, kontes, kode, numbers)
    return {"kode": row.kode, "nama": row.nama, "tingkat": row.tingkat, "kontes": kontes,
            **_fields(own, numbers), "anak": anak, "versi_data": row.versi,
            "diperbarui": row.diperbarui.isoformat().replace("+00:00", "Z")}


def _child_regions(conn: Connection, kontes: str, kode: str, numbers: list[int]) -> list[dict]:
    rows = conn.execute(text("""
        SELECT r.kode, w.nama, r.tingkat, r.angka, r.tps_masuk, r.tps_total, r.tps_perlu_periksa
        FROM rekap r JOIN wilayah w ON w.kode = r.kode
        WHERE r.kontes = :k AND w.kode_induk = :w ORDER BY r.kode"""), {"k": kontes, "w": kode})
    return [{"kode": r.kode, "nama": r.nama, "tingkat": r.tingkat,
             **_fields(Rekap(r.angka, r.tps_masuk, r.tps_total, r.tps_perlu_periksa), numbers)} for r in rows]


def tps_rows(conn: Connection, kontes: str, prefix: str, numbers: list[int]) -> list[dict]:
    """Every TPS under a region, in code order, with its current result if any (the JSON shape)."""
    out = []
    for t in tps_stream(conn, kontes, prefix):
        angka = t.pop("angka")
        rekap = Rekap(tps_total=1) if angka is None else Rekap.dari_hasil(angka, t["status"])
        out.append({"kode": t.pop("kode"), "nama": t.pop("nama"), "tingkat": "tps", **t, **_fields(rekap, numbers)})
    return out


def rentang(kode: str) -> tuple[str | None, str | None]:
    """The codes under a region as a half-open range [lo, hi) of its prefix, so that a
    primary key index serves it under any collation (digits sort alike in all);
    (None, None) for the national root, which holds every code."""
    if kode == w.NASIONAL:
        return None, None
    digits = kode.rstrip("9")
    if not digits:  # "99...": no next prefix of the same length
        return kode, None
    hi = digits[:-1] + str(int(digits[-1]) + 1) + "0" * (len(kode) - len(digits))
    return kode, hi


def di_rentang(kolom: str, kode: str) -> tuple[str, dict]:
    """A SQL condition (and its parameters) that `kolom` holds a code under the region."""
    lo, hi = rentang(kode)
    sql = " AND ".join(part for part, v in ((f"{kolom} >= :lo", lo), (f"{kolom} < :hi", hi)) if v)
    return sql or "TRUE", {"lo": lo, "hi": hi}


def tps_stream(conn: Connection, kontes: str, kode: str, batch: int = 2000) -> Iterator[dict]:
    """Every TPS under a region in code order, streamed from a server-side cursor
    (the caller holds a transaction open while iterating). Numbers stay as the stored
    flat `angka` (None when not reported); findings only for perlu_periksa TPS."""
    where, params = di_rentang("t.kode", kode)
    names = dict(conn.execute(text(f"""
        SELECT t.kode, t.nama FROM wilayah t
        WHERE t.tingkat IN ('desa', 'kecamatan') AND {where}"""), params).all())
    if w.tingkat(kode) in ("desa", "kecamatan"):  # the region's own name and its parent's
        names.update(conn.execute(text("SELECT kode, nama FROM wilayah WHERE kode = ANY(:k)"),
                                  {"k": [kode[:6], kode[:10]]}).all())
    rows = conn.execution_options(stream_results=True, yield_per=batch).execute(text(f"""
        SELECT t.kode, t.nama, k.status, k.versi, k.angka, h.temuan
        FROM wilayah t
        LEFT JOIN hasil_kini k ON k.kontes = :k AND k.kode_tps = t.kode
        LEFT JOIN hasil h ON h.id = k.hasil_id AND k.status = 'perlu_periksa'
        WHERE t.tingkat = 'tps' AND {where} ORDER BY t.kode"""), {**params, "k": kontes})
    for kode_tps, nama, status, versi, angka, temuan in rows:
        yield {"kode": kode_tps, "nama": nama, "kode_desa": kode_tps[:10], "nama_desa": names.get(kode_tps[:10]),
               "kode_kecamatan": kode_tps[:6], "nama_kecamatan": names.get(kode_tps[:6]),
               "status": status or "belum", "versi": versi, "angka": angka, "temuan": temuan or []}
