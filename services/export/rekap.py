"""Reading the stored recap into the JSON of api.md (also the workbook's input)."""

from sqlalchemy import Connection, text

from shared.domain import hasil
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
    """Every TPS under a region, in code order, with its current result if any."""
    rows = conn.execute(text("""
        SELECT t.kode, t.nama, t.kode_induk, d.nama AS nama_desa, c.kode AS kode_kecamatan,
               c.nama AS nama_kecamatan, k.status, k.versi, k.angka, h.temuan
        FROM wilayah t
        JOIN wilayah d ON d.kode = t.kode_induk
        JOIN wilayah c ON c.kode = d.kode_induk
        LEFT JOIN hasil_kini k ON k.kontes = :k AND k.kode_tps = t.kode
        LEFT JOIN hasil h ON h.id = k.hasil_id
        WHERE t.tingkat = 'tps' AND t.kode LIKE :prefix ORDER BY t.kode"""),
        {"k": kontes, "prefix": prefix + "%"})
    out = []
    for r in rows:
        item = {"kode": r.kode, "nama": r.nama, "tingkat": "tps", "kode_desa": r.kode_induk,
                "nama_desa": r.nama_desa, "kode_kecamatan": r.kode_kecamatan, "nama_kecamatan": r.nama_kecamatan}
        if r.status is None:
            out.append({**item, "status": "belum", "versi": None, "temuan": [],
                        **_fields(Rekap(tps_total=1), numbers)})
        else:
            out.append({**item, "status": r.status, "versi": r.versi, "temuan": r.temuan,
                        **_fields(Rekap.dari_hasil(r.angka, r.status), numbers)})
    return out
