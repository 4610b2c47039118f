"""The C.Hasil endpoints: submit, read, history."""

import hashlib
import json

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy import text

from shared import outbox
from shared.db.engine import engine
from shared.domain import aturan, hasil
from shared.web import HASIL, Problem, token, wajib
from services.intake import store
from services.intake.schemas import CHasil, Jawaban, temuan_dari_error

blp = Blueprint("hasil", __name__, url_prefix="/api/v1/hasil", description="C.Hasil per TPS")

_schema = CHasil()


def _paslon(kontes: str) -> list[int]:
    numbers = store.paslon(kontes)
    if numbers is None:
        raise Problem(404, "KONTES_TIDAK_DIKENAL", f"Kontes '{kontes}' tidak dikenal.", f"Unknown contest '{kontes}'.")
    return numbers


def _tps_not_found(kontes: str, kode_tps: str) -> Problem:
    return Problem(404, "TPS_TIDAK_DIKENAL", f"TPS '{kode_tps}' tidak dikenal untuk kontes {kontes}.",
                   f"TPS '{kode_tps}' is not known for contest {kontes}.")


def _body() -> dict:
    if not request.is_json:
        raise Problem(415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(400, "BUKAN_JSON", "Isian bukan objek JSON yang sah.", "The body is not a valid JSON object.")
    return body


def _idempotency_key() -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200:
        raise Problem(400, "IDEMPOTENCY_KEY_WAJIB",
                      "Header Idempotency-Key wajib diisi (maks. 200 karakter), unik untuk setiap pengiriman; "
                      "pakai kunci yang sama saat mengirim ulang.",
                      "The Idempotency-Key header is required (max 200 characters), unique per submission; "
                      "reuse it when you retry.")
    return key


def receive(kontes: str, kode_tps: str, jenis: str, peran: str) -> tuple[dict, int]:
    """The whole write path: authorize, parse, check the rules, store, publish."""
    tok = wajib(peran, kode_tps)
    key = _idempotency_key()
    numbers = _paslon(kontes)
    body = _body()
    alasan = body.pop("alasan", None) if jenis != "kirim" else None
    if jenis != "kirim" and not (isinstance(alasan, str) and alasan.strip()):
        raise Problem(422, temuan=[{"kode": "ALASAN_WAJIB", "pesan": "Alasan koreksi wajib diisi.",
                                    "message": "A reason (alasan) is required.", "fields": ["alasan"]}])
    try:
        isian = _schema.load(body)
    except ValidationError as exc:
        HASIL.labels(jenis, "ditolak").inc()
        raise Problem(422, temuan=temuan_dari_error(exc.messages)) from None
    found = aturan.periksa(isian, numbers)
    status = aturan.status(found)
    temuan = [t.as_dict() for t in found]
    if status == "ditolak":
        HASIL.labels(jenis, "ditolak").inc()
        raise Problem(422, "HASIL_MUSTAHIL", "Hasil ditolak: ada angka yang tidak mungkin. Tidak ada yang dihitung; "
                      "perbaiki isian sesuai temuan lalu kirim ulang dengan Idempotency-Key baru.",
                      "Result rejected: a number is impossible. Nothing was counted; fix the boxes named in "
                      "the findings and submit again with a new Idempotency-Key.", temuan)
    canonical = json.dumps({"isian": body, "alasan": alasan, "jenis": jenis}, sort_keys=True, separators=(",", ":"))
    try:
        saved = store.save(
            kontes=kontes, kode_tps=kode_tps, jenis=jenis, isian=body, angka=hasil.ratakan(isian), status=status,
            temuan=temuan, oleh=tok.subjek, key=key, sha=hashlib.sha256(canonical.encode()).hexdigest(),
            alasan=alasan)
    except store.NotFound:
        raise _tps_not_found(kontes, kode_tps) from None
    except store.KeyConflict:
        raise Problem(409, "IDEMPOTENCY_KEY_BENTROK",
                      "Idempotency-Key ini sudah dipakai untuk isian lain. Pakai kunci baru untuk isian baru.",
                      "This Idempotency-Key was used with another body. Use a new key for a new submission.") from None
    except store.Locked as exc:
        raise Problem(409, "WILAYAH_DIKUNCI",
                      f"Wilayah {exc.kode} sudah dikunci setelah rapat pleno; hubungi PPK/KPU untuk membuka kunci.",
                      f"Region {exc.kode} is locked after its plenary; ask the PPK/KPU to unlock it.") from None
    if not saved.replayed:
        HASIL.labels(jenis, status).inc()
        outbox.publish()
    return saved.jawaban, 201


@blp.route("/<string:kontes>/<string:kode_tps>")
class HasilTps(MethodView):
    @blp.doc(requestBody={"content": {"application/json": {"schema": CHasil}}},
             parameters=[{"in": "header", "name": "Idempotency-Key", "required": True, "schema": {"type": "string"}}])
    @blp.response(201, Jawaban)
    def post(self, kontes: str, kode_tps: str):
        """Submit (or resubmit) the C.Hasil of a TPS"""
        return receive(kontes, kode_tps, "kirim", "kpps")

    def get(self, kontes: str, kode_tps: str):
        """The current version of a TPS result"""
        tok = token()
        if not tok.mencakup(kode_tps):
            raise Problem(403)
        _paslon(kontes)
        with engine().connect() as conn:
            row = conn.execute(text("""
                SELECT h.versi, h.jenis, h.status, h.isian, h.temuan, h.alasan, h.oleh, h.dibuat
                FROM hasil_kini k JOIN hasil h ON h.id = k.hasil_id
                WHERE k.kontes = :k AND k.kode_tps = :t"""), {"k": kontes, "t": kode_tps}).first()
        if row is None:
            if not store.known_tps(kontes, kode_tps):
                raise _tps_not_found(kontes, kode_tps)
            raise Problem(404, "BELUM_ADA_HASIL", f"TPS {kode_tps} belum mengirim hasil.",
                          f"TPS {kode_tps} has not submitted a result yet.")
        return {"kode_tps": kode_tps, "kontes": kontes, **_version(row)}


def _version(row) -> dict:
    return {"versi": row.versi, "jenis": row.jenis, "status": row.status, "isian": row.isian,
            "temuan": row.temuan, "alasan": row.alasan, "oleh": row.oleh, "dibuat": row.dibuat.isoformat()}
