"""Photos of the C.Hasil pages: the evidence beside the numbers.

`POST /api/v1/hasil/{kontes}/{kode_tps}/foto` (multipart/form-data: `halaman`,
the page number, and `berkas`, the photo), by `kpps` for that TPS or wider.

- JPEG, PNG or WebP, known by their bytes (magic numbers, then Pillow reads
  the header), never by the file name or the client's Content-Type: 415
  otherwise, 422 when the bytes start like an image but are broken.
- At most FOTO_MAKS bytes and PIKSEL_MAKS pixels: 413. The intake's
  64 KiB limit for JSON stays the app-wide one; only this blueprint's
  requests get the larger limit (Flask's per-request `max_content_length`),
  so the JSON endpoints still refuse big bodies before reading them.
- Stored content-addressed under REKAP_DATA_DIR by the SHA-256 of the
  uploaded bytes: `foto/asli/ab/<sha>` is the original as sent (evidence,
  never served), `foto/publik/ab/<sha>` the public copy, the same picture
  with every metadata segment removed (EXIF with its GPS location, XMP,
  IPTC, comments, text chunks, data after the image). JPEG is cleaned
  without re-encoding (the pixels the public sees are the ones the KPPS
  sent), keeping only the EXIF orientation so the page shows upright.
- A row in `foto` links the page, the TPS's current result version (if any),
  the uploader (token subject) and the metadata read from EXIF (location,
  time taken, device): for staff, never in the public copy.
- A photo already used at another TPS is flagged (`tanda`), in the answer
  and the row: FOTO_SAMA_DI_TPS_LAIN for the very same bytes,
  FOTO_MIRIP_DI_TPS_LAIN for the same picture saved again (a 64-bit
  difference hash at most MIRIP_BIT bits away and the same aspect ratio:
  advisory, for staff to look at).
  KawalPemilu caught re-used photos this way in 2024.
- Sending the same photo for the same page again is a replay: 200 with the
  stored row, nothing new.

`GET .../foto` (kpps for that TPS or wider) lists the photos with their
flags, computed again at read time so the first TPS of a re-used photo is
flagged too. `GET .../foto/{sha256}` serves the public copy to anyone, as
Sirekap published its C.Hasil images.

The work on the picture itself (format, EXIF, hash, public copy) is in
services.intake.gambar; this module is HTTP and storage.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
import tempfile
import warnings
from pathlib import Path

from flask import request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from PIL import Image, UnidentifiedImageError
from sqlalchemy import text
from werkzeug.exceptions import RequestEntityTooLarge

from shared import settings
from shared.db.engine import engine
from shared.web import Problem, galat, unduhan, wajib
from services.intake import store
from services.intake.gambar import bersihkan, dhash, metadata, pita, sniff
from services.intake.schemas import Foto

blp = Blueprint("foto", __name__, url_prefix="/api/v1/hasil", description="Foto C.Hasil (bukti)")

FOTO_MAKS = 10 * 1024 * 1024  # bytes of one photo: a 12-megapixel phone JPEG is 2 to 5 MB
BODY_MAKS = FOTO_MAKS + 64 * 1024  # the multipart body: the photo, the page number, the boundaries
PIKSEL_MAKS = 60_000_000  # decoded size guard (a small file can claim a huge picture)
HALAMAN_MAKS = 99
MIRIP_BIT = 3  # difference hashes this many bits apart are the same picture saved again...
MIRIP_RASIO = 0.01  # ...when their aspect ratios are within 1%

JENIS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_SHA = re.compile(r"^[0-9a-f]{64}$")


@blp.before_request
def _batas_ukuran():
    """Photos need more than the intake's JSON limit: raise it for this blueprint only."""
    request.max_content_length = BODY_MAKS


# --- errors ---------------------------------------------------------------------


def _terlalu_besar() -> Problem:
    mb = FOTO_MAKS // (1024 * 1024)
    return Problem(413, "FOTO_TERLALU_BESAR",
                   f"Foto terlalu besar: paling besar {mb} MB dan {PIKSEL_MAKS // 1_000_000} megapiksel. "
                   "Kirim ulang dengan resolusi lebih kecil.",
                   f"The photo is too large: at most {mb} MB and {PIKSEL_MAKS // 1_000_000} megapixels. "
                   "Send it again at a lower resolution.")


def _bukan_gambar() -> Problem:
    return Problem(415, "FOTO_BUKAN_GAMBAR",
                   "Berkas bukan foto JPEG, PNG atau WebP. Foto halaman C.Hasil lalu kirim berkas fotonya.",
                   "The file is not a JPEG, PNG or WebP photo. Photograph the C.Hasil page and send that file.")


def _rusak() -> Problem:
    return Problem(422, "FOTO_RUSAK", "Foto rusak atau terpotong dan tidak bisa dibaca. Kirim ulang fotonya.",
                   "The photo is damaged or cut off and cannot be read. Send it again.",
                   [{"kode": "FOTO_RUSAK", "pesan": "Foto tidak bisa dibaca.", "message": "Unreadable photo.",
                     "fields": ["berkas"]}])


def _isian(kode: str, pesan: str, message: str, field: str) -> Problem:
    return Problem(422, temuan=[{"kode": kode, "pesan": pesan, "message": message, "fields": [field]}])


def _cek_tps(kontes: str, kode_tps: str) -> None:
    if store.paslon(kontes) is None:
        raise Problem(404, "KONTES_TIDAK_DIKENAL", f"Kontes '{kontes}' tidak dikenal.", f"Unknown contest '{kontes}'.")
    if not store.known_tps(kontes, kode_tps):
        raise Problem(404, "TPS_TIDAK_DIKENAL", f"TPS '{kode_tps}' tidak dikenal untuk kontes {kontes}.",
                      f"TPS '{kode_tps}' is not known for contest {kontes}.")


# --- storage ----------------------------------------------------------------------


def folder() -> Path:
    return settings.load().data_dir / "foto"


def jalur(jenis: str, sha: str) -> Path:
    """foto/asli/ab/<sha> (as sent) or foto/publik/ab/<sha> (metadata removed)."""
    return folder() / jenis / sha[:2] / sha


def _simpan(path: Path, data: bytes) -> None:
    """Write once: content-addressed, so an existing file already holds these bytes."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# Other TPS holding the same bytes, or the same picture saved again: a difference hash at most
# MIRIP_BIT bits away and the same aspect ratio. Hashes that close share at least one of their
# four 16-bit bands (pigeonhole), so each band's expression index finds the candidates.
KEMBAR = text("""
    SELECT DISTINCT ON (f.kontes, f.kode_tps, f.sha256 = :sha) f.kontes, f.kode_tps, f.halaman,
           f.sha256 = :sha AS sama
    FROM foto f
    WHERE f.kode_tps <> :t AND (f.sha256 = :sha OR (
          (((f.dhash >> 48) & 65535) = :b0 OR ((f.dhash >> 32) & 65535) = :b1
           OR ((f.dhash >> 16) & 65535) = :b2 OR ((f.dhash >> 0) & 65535) = :b3)
          AND bit_count(CAST(f.dhash # CAST(:dh AS bigint) AS bit(64))) <= :bit
          AND abs(f.lebar::float8 / f.tinggi - CAST(:rasio AS float8)) <= CAST(:toleransi AS float8) * :rasio))
    ORDER BY f.kontes, f.kode_tps, f.sha256 = :sha, f.id
    LIMIT 50""")

SIMPAN = text("""
    WITH kini AS (SELECT hasil_id, versi FROM hasil_kini WHERE kontes = :k AND kode_tps = :t)
    INSERT INTO foto (kontes, kode_tps, halaman, sha256, jenis, ukuran, lebar, tinggi, dhash,
                      hasil_id, versi, oleh, exif, tanda)
    VALUES (:k, :t, :halaman, :sha, :jenis, :ukuran, :lebar, :tinggi, :dh,
            (SELECT hasil_id FROM kini), (SELECT versi FROM kini), :oleh, CAST(:exif AS jsonb),
            CAST(:tanda AS jsonb))
    ON CONFLICT ON CONSTRAINT foto_unik DO NOTHING
    RETURNING id""")

KOLOM = "id, kontes, kode_tps, halaman, sha256, jenis, ukuran, lebar, tinggi, dhash, versi, oleh, exif, tanda, dibuat"


def tanda(conn, kontes: str, kode_tps: str, sha: str, dh: int | None, lebar: int, tinggi: int) -> list[dict]:
    """The flags of a photo: the other TPS where the same photo (or the same picture) was used."""
    bands = pita(dh)
    rows = conn.execute(KEMBAR, {"t": kode_tps, "sha": sha, "dh": dh, "bit": MIRIP_BIT,
                                 "b0": bands[0], "b1": bands[1], "b2": bands[2], "b3": bands[3],
                                 "rasio": lebar / max(tinggi, 1), "toleransi": MIRIP_RASIO}).all()
    out = []
    for sama, kode, pesan, message in (
            (True, "FOTO_SAMA_DI_TPS_LAIN", "Foto yang persis sama sudah dikirim untuk TPS lain: {}. Periksa "
             "apakah foto ini benar C.Hasil TPS ini.", "The very same photo was sent for another TPS: {}. "
             "Check that it really is this TPS's C.Hasil."),
            (False, "FOTO_MIRIP_DI_TPS_LAIN", "Foto yang tampak sama (disimpan ulang) sudah dikirim untuk TPS lain: "
             "{}. Periksa apakah foto ini benar C.Hasil TPS ini.", "A photo that looks the same (saved again) was "
             "sent for another TPS: {}. Check that it really is this TPS's C.Hasil.")):
        tps = [{"kontes": r.kontes, "kode_tps": r.kode_tps, "halaman": r.halaman} for r in rows if r.sama is sama]
        if tps:
            daftar = ", ".join(sorted({t["kode_tps"] for t in tps}))
            out.append({"kode": kode, "pesan": pesan.format(daftar), "message": message.format(daftar),
                        "fields": ["berkas"], "tps": tps})
    return out


def _jawaban(row, flags: list[dict] | None = None) -> dict:
    return {"kontes": row.kontes, "kode_tps": row.kode_tps, "halaman": row.halaman, "sha256": row.sha256,
            "jenis": row.jenis, "ukuran": row.ukuran, "lebar": row.lebar, "tinggi": row.tinggi,
            "versi": row.versi, "oleh": row.oleh, "exif": row.exif,
            "tanda": row.tanda if flags is None else flags,
            "url": f"/api/v1/hasil/{row.kontes}/{row.kode_tps}/foto/{row.sha256}",
            "dibuat": row.dibuat.isoformat()}


# --- the endpoints ---------------------------------------------------------------

UPLOAD_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["halaman", "berkas"],
    "properties": {"halaman": {"type": "integer", "minimum": 1, "maximum": HALAMAN_MAKS,
                               "description": "page of the C.Hasil form"},
                   "berkas": {"type": "string", "format": "binary",
                              "description": f"the photo: JPEG, PNG or WebP, at most {FOTO_MAKS} bytes"}}}}}}}


def _baca_unggahan() -> tuple[int, bytes]:
    length = request.content_length
    if length is not None and length > BODY_MAKS:
        raise _terlalu_besar()
    if request.mimetype != "multipart/form-data":
        raise Problem(415, "BUKAN_MULTIPART",
                      "Kirim foto sebagai multipart/form-data dengan isian 'halaman' dan 'berkas'.",
                      "Send the photo as multipart/form-data with the fields 'halaman' and 'berkas'.")
    try:
        request.form, request.files  # parse now: a chunked body past the limit stops here
    except RequestEntityTooLarge:
        raise _terlalu_besar() from None
    halaman = request.form.get("halaman", "").strip()
    if not (halaman.isascii() and halaman.isdigit()) or not 1 <= int(halaman) <= HALAMAN_MAKS:  # "³": no int
        raise _isian("HALAMAN_TIDAK_VALID", f"Isian 'halaman' wajib berupa nomor halaman 1 sampai {HALAMAN_MAKS}.",
                     f"'halaman' must be a page number from 1 to {HALAMAN_MAKS}.", "halaman")
    upload = request.files.get("berkas")
    if upload is None:
        raise _isian("BERKAS_WAJIB", "Isian 'berkas' (foto halaman C.Hasil) wajib diisi.",
                     "The field 'berkas' (the photo of the C.Hasil page) is required.", "berkas")
    data = upload.stream.read(FOTO_MAKS + 1)
    if len(data) > FOTO_MAKS:
        raise _terlalu_besar()
    if not data:
        raise _isian("BERKAS_KOSONG", "Berkas foto kosong.", "The photo file is empty.", "berkas")
    return int(halaman), data


def periksa_foto(data: bytes) -> dict:
    """Check an upload by its content and prepare what is stored: raises Problem (415, 413, 422)."""
    fmt = sniff(data)
    if fmt is None:
        raise _bukan_gambar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Pillow's "Corrupt EXIF data": metadata() copes
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if (img.format if img.format != "MPO" else "JPEG") != fmt:  # MPO: a phone JPEG with MPF images
                raise _bukan_gambar()
            lebar, tinggi = img.size
            if lebar * tinggi > PIKSEL_MAKS:
                raise _terlalu_besar()
            img.verify()  # the structure, right after open (Pillow's rule)
            meta, orientation = metadata(Image.open(io.BytesIO(data)))
            publik = bersihkan(data, fmt, orientation)
            check = Image.open(io.BytesIO(publik))
            if check.format != fmt or check.size != (lebar, tinggi):
                raise _rusak()
            check.verify()
            clean = Image.open(io.BytesIO(publik))
            if clean.getexif().get_ifd(0x8825) or set(clean.getexif()) - {0x0112}:
                raise _rusak()  # never serve a copy that still carries metadata
            dh = dhash(clean)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _terlalu_besar() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error, IndexError, EOFError,
            RuntimeError):
        raise _rusak() from None
    return {"fmt": fmt, "jenis": JENIS[fmt], "lebar": lebar, "tinggi": tinggi, "exif": meta, "publik": publik,
            "dhash": dh, "sha256": hashlib.sha256(data).hexdigest()}


@blp.route("/<string:kontes>/<string:kode_tps>/foto")
class FotoTps(MethodView):
    @blp.doc(**UPLOAD_DOC)
    @blp.alt_response(201, schema=Foto, description="Stored.", success=True)
    @blp.alt_response(200, schema=Foto, description="The same photo for the same page again: the stored one.",
                      success=True)
    @blp.doc(responses=galat(401, 403, (404, "Unknown contest or TPS."),
                             (413, "Over FOTO_MAKS bytes or PIKSEL_MAKS pixels (FOTO_TERLALU_BESAR)."),
                             (415, "Not multipart/form-data (BUKAN_MULTIPART), or not a JPEG, PNG or WebP "
                                   "by its bytes (FOTO_BUKAN_GAMBAR)."),
                             (422, "No or a bad `halaman` or `berkas`, or a broken image (FOTO_RUSAK)."),
                             429, 503, (507, "The photo store cannot write (PENYIMPANAN_GAGAL): send it again later.")))
    def post(self, kontes: str, kode_tps: str):
        """Upload the photo of one C.Hasil page (kpps for this TPS or wider)"""
        tok = wajib("kpps", kode_tps)
        _cek_tps(kontes, kode_tps)
        halaman, data = _baca_unggahan()
        foto = periksa_foto(data)
        sha = foto["sha256"]
        try:
            _simpan(jalur("asli", sha), data)
            _simpan(jalur("publik", sha), foto["publik"])
        except OSError:
            # A full or failing disk: say so plainly. A file already written is named by its
            # content, so the retry reuses it; no row points anywhere yet.
            raise Problem(507, "PENYIMPANAN_GAGAL",
                          "Foto tidak dapat disimpan di server (penyimpanan penuh atau rusak); kirim ulang nanti.",
                          "The photo could not be stored (storage full or failing); send it again later.") from None
        with engine().begin() as conn:
            flags = tanda(conn, kontes, kode_tps, sha, foto["dhash"], foto["lebar"], foto["tinggi"])
            new = conn.execute(SIMPAN, {
                "k": kontes, "t": kode_tps, "halaman": halaman, "sha": sha, "jenis": foto["jenis"],
                "ukuran": len(data), "lebar": foto["lebar"], "tinggi": foto["tinggi"], "dh": foto["dhash"],
                "oleh": tok.subjek, "exif": json.dumps(foto["exif"]), "tanda": json.dumps(flags)}).first()
            row = conn.execute(text(f"""SELECT {KOLOM} FROM foto WHERE kontes = :k AND kode_tps = :t
                                        AND halaman = :h AND sha256 = :sha"""),
                               {"k": kontes, "t": kode_tps, "h": halaman, "sha": sha}).one()
        return _jawaban(row, flags), 201 if new else 200

    @blp.alt_response(200, schema=Foto(many=True), success=True)
    @blp.doc(responses=galat(401, 403, (404, "Unknown contest or TPS."), 503))
    def get(self, kontes: str, kode_tps: str):
        """The photos of a TPS, newest last, with their flags and metadata (kpps for this TPS or wider)"""
        wajib("kpps", kode_tps)
        _cek_tps(kontes, kode_tps)
        with engine().connect() as conn:
            rows = conn.execute(text(f"""SELECT {KOLOM} FROM foto WHERE kontes = :k AND kode_tps = :t
                                         ORDER BY halaman, id"""), {"k": kontes, "t": kode_tps}).all()
            return [_jawaban(r, tanda(conn, kontes, kode_tps, r.sha256, r.dhash, r.lebar, r.tinggi)) for r in rows]


@blp.route("/<string:kontes>/<string:kode_tps>/foto/<string:sha256>")
class FotoPublik(MethodView):
    @blp.doc(responses=unduhan(*JENIS.values()))
    @blp.doc(responses=galat((404, "No such photo for this TPS (FOTO_TIDAK_DITEMUKAN)."), 503))
    def get(self, kontes: str, kode_tps: str, sha256: str):
        """The public copy of a photo (no token; metadata removed)"""
        sha = sha256.lower()
        row = None
        if _SHA.match(sha):
            with engine().connect() as conn:
                row = conn.execute(text("""SELECT jenis FROM foto WHERE kontes = :k AND kode_tps = :t
                                           AND sha256 = :sha LIMIT 1"""),
                                   {"k": kontes, "t": kode_tps, "sha": sha}).first()
        path = jalur("publik", sha) if row else None
        if row is None or not path.exists():
            raise Problem(404, "FOTO_TIDAK_DITEMUKAN", "Foto ini tidak ada untuk TPS ini.",
                          "No such photo for this TPS.")
        ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}[row.jenis]
        resp = send_file(path, mimetype=row.jenis, etag=sha, conditional=True, max_age=86400,
                         download_name=f"{kode_tps}-{sha[:12]}.{ext}")
        resp.headers["Cache-Control"] = "public, max-age=86400, immutable"
        return resp
