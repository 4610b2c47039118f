"""Locking a region after its plenary: no submission or correction under it
until a wider role unlocks it. Both are on the audit record."""

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from shared import audit
from shared.auth import RANK
from shared.db.engine import engine
from shared.domain import wilayah as w
from shared.web import Problem, galat, wajib
from services.intake.schemas import Kunci as KunciSchema

blp = Blueprint("wilayah", __name__, url_prefix="/api/v1/wilayah", description="Regions: plenary locks")

# The role whose plenary closes each level (the recap chain has no desa plenary).
PENUTUP = {"kecamatan": "ppk", "kabupaten": "kpu_kab", "provinsi": "kpu_prov", "nasional": "kpu"}
TAK_DIKUNCI = ("Not a level that is locked (WILAYAH_TIDAK_DIKUNCI: desa, TPS), or an unknown region "
               "(WILAYAH_TIDAK_DIKENAL).")


def _level(kode: str) -> str:
    try:
        level = w.tingkat(kode)
    except ValueError:
        level = None
    if level not in PENUTUP:
        raise Problem(404, "WILAYAH_TIDAK_DIKUNCI",
                      "Hanya kecamatan, kabupaten/kota, provinsi atau nasional yang dikunci setelah pleno.",
                      "Only a kecamatan, kabupaten/kota, provinsi or the nation is locked after its plenary.")
    with engine().connect() as conn:
        if not conn.execute(text("SELECT 1 FROM wilayah WHERE kode = :k"), {"k": kode}).first():
            raise Problem(404, "WILAYAH_TIDAK_DIKENAL", f"Wilayah {kode} tidak dikenal.", f"Unknown region {kode}.")
    return level


@blp.route("/<string:kode>/kunci")
class Kunci(MethodView):
    @blp.alt_response(201, schema=KunciSchema, success=True)
    @blp.doc(responses=galat(401, 403, (404, TAK_DIKUNCI), 429, 503))
    def post(self, kode: str):
        """Lock a region after its plenary (ppk for a kecamatan, kpu_kab for a kabupaten, ...)"""
        tok = wajib(PENUTUP[_level(kode)], kode)
        with engine().begin() as conn:
            row = conn.execute(text("""INSERT INTO kunci (kode_wilayah, oleh) VALUES (:k, :oleh)
                                       ON CONFLICT DO NOTHING RETURNING dibuat"""),
                               {"k": kode, "oleh": tok.subjek}).first()
            if row is not None:
                audit.record(conn, tok.subjek, "kunci", kode)
            else:
                row = conn.execute(text("SELECT dibuat FROM kunci WHERE kode_wilayah = :k"), {"k": kode}).one()
        return {"kode": kode, "dikunci": True, "sejak": row.dibuat.isoformat()}, 201

    @blp.alt_response(200, schema=KunciSchema, success=True)
    @blp.doc(responses=galat(401, (403, "Outside the token's region, or the role is not wider than the one that "
                                     "locks this level (PERAN_KURANG_LUAS)."), (404, TAK_DIKUNCI), 429, 503))
    def delete(self, kode: str):
        """Unlock a region (a role wider than the one that locks it)"""
        level = _level(kode)
        tok = wajib(PENUTUP[level], kode)
        if RANK[tok.peran] <= RANK[PENUTUP[level]]:
            raise Problem(403, "PERAN_KURANG_LUAS",
                          f"Membuka kunci {level} memerlukan peran di atas {PENUTUP[level]}.",
                          f"Unlocking a {level} needs a role wider than {PENUTUP[level]}.")
        with engine().begin() as conn:
            gone = conn.execute(text("DELETE FROM kunci WHERE kode_wilayah = :k"), {"k": kode}).rowcount
            if gone:
                audit.record(conn, tok.subjek, "buka_kunci", kode)
        return {"kode": kode, "dikunci": False}, 200

    @blp.alt_response(200, schema=KunciSchema, success=True)
    @blp.doc(responses=galat((404, TAK_DIKUNCI), 503))
    def get(self, kode: str):
        """Is this region (or one above it) locked?"""
        _level(kode)
        with engine().connect() as conn:
            row = conn.execute(text("""SELECT kode_wilayah, dibuat FROM kunci
                                       WHERE :k LIKE kode_wilayah || '%' OR kode_wilayah = '0'
                                       ORDER BY length(kode_wilayah) LIMIT 1"""), {"k": kode}).first()
        if row is None:
            return {"kode": kode, "dikunci": False}
        return {"kode": kode, "dikunci": True, "oleh_kunci": row.kode_wilayah, "sejak": row.dibuat.isoformat()}


