"""The C.Hasil endpoints: submit, correct, PSU, read the current version and its history.

Every write goes the same way (`receive`): authorize, parse, check the rules
of shared.domain.aturan, store one new version with its outbox row, wake the
recap. Only the role and the kind of version differ.
"""

import hashlib
import json
from collections.abc import Callable

import orjson
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from shared.db.engine import engine
from shared.web import HASIL, Problem, wajib
from services.intake import store, wake
from services.intake.periksa import nilai
from services.intake.schemas import (CONTOH, CONTOH_KOREKSI, GALAT_BACA, GALAT_TULIS, CHasil, Jawaban, Koreksi,
                                     Versi)

blp = Blueprint("hasil", __name__, url_prefix="/api/v1/hasil", description="C.Hasil per TPS")

KEY_HEADER = {"in": "header", "name": "Idempotency-Key", "required": True,
              "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S"},
              "description": "unique per submission; send the same key again when you retry"}

# The kinds of version: who may write them, and whether they need a reason.
JENIS = {
    "kirim": {"peran": "kpps", "alasan": False},  # the KPPS's result (or a resubmission)
    "koreksi": {"peran": "ppk", "alasan": True},  # a PPK correction at the plenary
    "psu": {"peran": "kpps", "alasan": True},  # a repeat vote (PSU) replacing the original
}


def _paslon(kontes: str) -> list[int]:
    numbers = store.paslon(kontes)
    if numbers is None:
        raise Problem(404, "KONTES_TIDAK_DIKENAL", f"Kontes '{kontes}' tidak dikenal.", f"Unknown contest '{kontes}'.")
    return numbers


def _tps_not_found(kontes: str, kode_tps: str) -> Problem:
    return Problem(404, "TPS_TIDAK_DIKENAL", f"TPS '{kode_tps}' tidak dikenal untuk kontes {kontes}.",
                   f"TPS '{kode_tps}' is not known for contest {kontes}.")


def objek(parsed) -> dict:
    """The parsed body (None: not JSON at all) when it is a JSON object; 400 otherwise."""
    if not isinstance(parsed, dict):
        raise Problem(400, "BUKAN_JSON", "Isian bukan objek JSON yang sah.", "The body is not a valid JSON object.")
    return parsed


def _flask_body() -> dict:
    if not request.is_json:
        raise Problem(415)
    return objek(request.get_json(silent=True))


def _idempotency_key(header: str) -> str:
    key = header.strip()
    if not key or len(key) > 200 or not key.isprintable():
        raise Problem(400, "IDEMPOTENCY_KEY_WAJIB",
                      "Header Idempotency-Key wajib diisi (maks. 200 karakter, tanpa karakter kontrol), unik untuk "
                      "setiap pengiriman; pakai kunci yang sama saat mengirim ulang.",
                      "The Idempotency-Key header is required (max 200 characters, no control characters), "
                      "unique per submission; reuse it when you retry.")
    return key


def _alasan(body: dict, required: bool) -> str | None:
    alasan = body.pop("alasan", None)
    if required and not (isinstance(alasan, str) and alasan.strip()):
        raise Problem(422, temuan=[{"kode": "ALASAN_WAJIB",
                                    "pesan": "Alasan wajib diisi (mis. nomor berita acara pleno atau keputusan PSU).",
                                    "message": "A reason (alasan) is required, e.g. the plenary minutes or PSU decision.",
                                    "fields": ["alasan"]}])
    if isinstance(alasan, str) and not _storable(alasan):
        raise Problem(422, temuan=[{"kode": "ALASAN_TIDAK_SAH",
                                    "pesan": "Alasan berisi karakter yang tidak bisa disimpan (NUL \\u0000 atau "
                                             "surrogate \\ud800-\\udfff tanpa pasangan); tulis ulang alasannya.",
                                    "message": "The reason (alasan) contains a character that cannot be stored "
                                               "(NUL \\u0000, or a lone surrogate \\ud800-\\udfff); retype it.",
                                    "fields": ["alasan"]}])
    return alasan.strip() if isinstance(alasan, str) else None


def _storable(text: str) -> bool:
    """Can PostgreSQL store this text? Neither a NUL nor a lone surrogate (which JSON can
    spell, "\\ud800", and UTF-8 cannot) can be; unchecked, either was a 500."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def isian_sha256(isian: dict, alasan: str | None, jenis: str) -> str:
    """What an Idempotency-Key is held to (the column hasil.isian_sha256): the SHA-256 of
    the submission's canonical JSON, the standard json's text with sorted keys and no spaces.

    A body that passed the rules holds only ASCII names and whole numbers of 0 to 999,
    which orjson writes as the same text in a fifth of the time (3 µs against 13, in
    the request's thread). An alasan may hold text that the two write differently (the
    standard json escapes all but printable ASCII), so a body with one keeps the
    standard json: either way, a key stored before an upgrade still matches its retry."""
    entry = {"isian": isian, "alasan": alasan, "jenis": jenis}
    if alasan is None:
        canonical = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)
    else:
        canonical = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()


def receive(kontes: str, kode_tps: str, jenis: str, authorization: str, idempotency_key: str,
            body: Callable[[], dict]) -> Response:
    """The whole write path: authorize, parse, check the rules, store, publish. Needs no
    Flask request: the views pass theirs, and services/intake/fastpath.py the WSGI
    environ's. `body()` gives the JSON object, or raises the Problem (415, 400, 413).

    The 201 body is the answer's JSON exactly as stored with the version (so a replay
    is byte for byte the first answer), sent as it is: no parse and re-dump."""
    # The token's row (revoked?) is checked by the statement that stores: no look-up of its
    # own for each KPPS token, which on election night is new to the process nearly every time.
    tok = wajib(JENIS[jenis]["peran"], kode_tps, authorization, row=False)
    key = _idempotency_key(idempotency_key)
    numbers = _paslon(kontes)
    body = body()
    alasan = _alasan(body, JENIS[jenis]["alasan"]) if JENIS[jenis]["alasan"] else None
    verdict = nilai(body, numbers)
    if verdict.malformed:
        HASIL.labels(jenis, "ditolak").inc()
        raise Problem(422, temuan=verdict.temuan)
    status, temuan = verdict.status, verdict.temuan
    if status == "ditolak":
        HASIL.labels(jenis, "ditolak").inc()
        raise Problem(422, "HASIL_MUSTAHIL", "Hasil ditolak: ada angka yang tidak mungkin. Tidak ada yang dihitung; "
                      "perbaiki isian sesuai temuan lalu kirim ulang dengan Idempotency-Key baru.",
                      "Result rejected: a number is impossible. Nothing was counted; fix the boxes named in "
                      "the findings and submit again with a new Idempotency-Key.", temuan)
    try:
        saved = store.save(
            kontes=kontes, kode_tps=kode_tps, jenis=jenis, isian=body, angka=verdict.angka, status=status,
            temuan=temuan, oleh=tok.subjek, key=key, sha=isian_sha256(body, alasan, jenis),
            alasan=alasan, token=tok.id)
    except store.Revoked:
        raise Problem(401) from None
    except store.NotFound:
        raise _tps_not_found(kontes, kode_tps) from None
    except store.NothingToCorrect:
        raise Problem(404, "BELUM_ADA_HASIL", f"TPS {kode_tps} belum mengirim hasil; tidak ada yang dikoreksi.",
                      f"TPS {kode_tps} has no result yet; there is nothing to correct.") from None
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
        wake.soon()
    return Response(saved.teks, 201, mimetype="application/json")


def _receive(kontes: str, kode_tps: str, jenis: str) -> Response:
    """receive() for a Flask view: the request's headers and body."""
    return receive(kontes, kode_tps, jenis, request.headers.get("Authorization", ""),
                   request.headers.get("Idempotency-Key", ""), _flask_body)


def _versions(kontes: str, kode_tps: str, current_only: bool) -> list[dict]:
    """Versions of a TPS result, oldest first (or only the current one)."""
    wajib("kpps", kode_tps)
    _paslon(kontes)
    query = """
        SELECT h.versi, h.jenis, h.status, h.isian, h.temuan, h.alasan, h.oleh, h.dibuat
        FROM hasil h WHERE h.kontes = :k AND h.kode_tps = :t ORDER BY h.versi"""
    if current_only:
        query = """
            SELECT h.versi, h.jenis, h.status, h.isian, h.temuan, h.alasan, h.oleh, h.dibuat
            FROM hasil_kini k JOIN hasil h ON h.id = k.hasil_id WHERE k.kontes = :k AND k.kode_tps = :t"""
    with engine().connect() as conn:
        rows = conn.execute(text(query), {"k": kontes, "t": kode_tps}).all()
    if not rows:
        if not store.known_tps(kontes, kode_tps):
            raise _tps_not_found(kontes, kode_tps)
        if current_only:
            raise Problem(404, "BELUM_ADA_HASIL", f"TPS {kode_tps} belum mengirim hasil.",
                          f"TPS {kode_tps} has not submitted a result yet.")
    return [{"kode_tps": kode_tps, "kontes": kontes, "versi": r.versi, "jenis": r.jenis, "status": r.status,
             "isian": r.isian, "temuan": r.temuan, "alasan": r.alasan, "oleh": r.oleh,
             "dibuat": r.dibuat.isoformat()} for r in rows]


@blp.route("/<string:kontes>/<string:kode_tps>")
class HasilTps(MethodView):
    @blp.doc(requestBody={"content": {"application/json": {"schema": CHasil, "example": CONTOH}}},
             parameters=[KEY_HEADER])
    @blp.response(201, Jawaban)
    @blp.doc(responses=GALAT_TULIS)
    def post(self, kontes: str, kode_tps: str):
        """Submit (or resubmit) the C.Hasil of a TPS (kpps or wider)"""
        return _receive(kontes, kode_tps, "kirim")

    @blp.alt_response(200, schema=Versi, success=True)
    @blp.doc(responses=GALAT_BACA)
    def get(self, kontes: str, kode_tps: str):
        """The current version of a TPS result"""
        return _versions(kontes, kode_tps, current_only=True)[0]


@blp.route("/<string:kontes>/<string:kode_tps>/koreksi")
class KoreksiTps(MethodView):
    @blp.doc(requestBody={"content": {"application/json": {"schema": Koreksi, "example": CONTOH_KOREKSI}}},
             parameters=[KEY_HEADER])
    @blp.response(201, Jawaban)
    @blp.doc(responses=GALAT_TULIS)
    def post(self, kontes: str, kode_tps: str):
        """Correct a TPS result at the plenary (ppk or wider; `alasan` required): a new version"""
        return _receive(kontes, kode_tps, "koreksi")


@blp.route("/<string:kontes>/<string:kode_tps>/psu")
class PsuTps(MethodView):
    @blp.doc(requestBody={"content": {"application/json": {"schema": Koreksi, "example": CONTOH_KOREKSI}}},
             parameters=[KEY_HEADER])
    @blp.response(201, Jawaban)
    @blp.doc(responses=GALAT_TULIS)
    def post(self, kontes: str, kode_tps: str):
        """The result of a repeat vote (PSU), replacing the original, which stays in the history"""
        return _receive(kontes, kode_tps, "psu")


@blp.route("/<string:kontes>/<string:kode_tps>/riwayat")
class RiwayatTps(MethodView):
    @blp.alt_response(200, schema=Versi(many=True), success=True)
    @blp.doc(responses=GALAT_BACA)
    def get(self, kontes: str, kode_tps: str):
        """Every version of a TPS result, oldest first, with who, when and why"""
        return _versions(kontes, kode_tps, current_only=False)
