"""The C.Hasil body, field by field (marshmallow; also the OpenAPI document).

Types and shape only: unknown fields are refused, every number is a whole
number (true/false and "12" are not). Ranges and the form's rules live in
shared.domain.aturan, one place for the API and the Sirekap import alike.
"""

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from shared.web import TemuanSchema, galat


class Angka(fields.Integer):
    """A box of the form: a JSON whole number."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)


class _Ketat(Schema):
    class Meta:
        unknown = RAISE


class LP(_Ketat):
    l = Angka(required=True)  # noqa: E741 - the form's own letter: laki-laki
    p = Angka(required=True)  # perempuan
    j = Angka()  # jumlah: optional, checked against l + p when given


class Pemilih(_Ketat):
    dpt = fields.Nested(LP, required=True)


class Pengguna(_Ketat):
    dpt = fields.Nested(LP, required=True)
    dptb = fields.Nested(LP, required=True)
    dpk = fields.Nested(LP, required=True)
    total = fields.Nested(LP)  # I.B.4, optional, checked when given


class SuratSuara(_Ketat):
    diterima = Angka(required=True)
    digunakan = Angka(required=True)
    dikembalikan = Angka(required=True)
    sisa = Angka(required=True)


class CHasil(_Ketat):
    pemilih = fields.Nested(Pemilih, required=True)
    pengguna = fields.Nested(Pengguna, required=True)
    disabilitas = fields.Nested(LP, required=True)
    surat_suara = fields.Nested(SuratSuara, required=True)
    suara = fields.Dict(keys=fields.String(), values=Angka(), required=True,
                        metadata={"description": "votes by paslon nomor urut, exactly the contest's paslon"})
    suara_sah = Angka(required=True)
    suara_tidak_sah = Angka(required=True)
    suara_total = Angka(required=True)

    @validates("suara")
    def _nomor(self, value, **kwargs):
        # isascii: "³" is a digit to str.isdigit() but not to int()
        bad = [k for k in value if not (k.isascii() and k.isdigit() and 0 < int(k) < 100)]
        if bad:
            raise ValidationError(f"not a paslon number: {', '.join(bad)}")


class Koreksi(CHasil):
    alasan = fields.String(required=True, validate=validate.Regexp(r"\S"),  # blank is refused: ALASAN_WAJIB
                           metadata={"description": "why the result is corrected"})


# The example of api.md: a clean form of a ppwp TPS (the documents show it; the fuzzer sends it).
CONTOH = {
    "pemilih": {"dpt": {"l": 123, "p": 143}},
    "pengguna": {"dpt": {"l": 108, "p": 130}, "dptb": {"l": 0, "p": 1}, "dpk": {"l": 0, "p": 0}},
    "disabilitas": {"l": 0, "p": 0},
    "surat_suara": {"diterima": 272, "digunakan": 239, "dikembalikan": 0, "sisa": 33},
    "suara": {"1": 15, "2": 182, "3": 36},
    "suara_sah": 233, "suara_tidak_sah": 6, "suara_total": 239,
}
CONTOH_KOREKSI = {**CONTOH, "alasan": "Berita acara pleno PPK nomor 12"}


# --- answers (documentation: the OpenAPI document says what the endpoints send) ---------

# The errors of a write (submission, correction, PSU) and of a read of a TPS result.
GALAT_TULIS = galat(
    (400, "No Idempotency-Key (IDEMPOTENCY_KEY_WAJIB), or the body is not a JSON object (BUKAN_JSON)."),
    401, 403,
    (404, "Unknown contest or TPS; for a correction, no result yet (BELUM_ADA_HASIL)."),
    (409, "The Idempotency-Key was used with another body (IDEMPOTENCY_KEY_BENTROK), or the region is "
          "locked after its plenary (WILAYAH_DIKUNCI)."),
    413, 415,
    (422, "Malformed, or a number is impossible (HASIL_MUSTAHIL): nothing is counted; the findings name "
          "the boxes to fix."),
    429, 503)
GALAT_BACA = galat(401, 403, (404, "Unknown contest or TPS, or no result yet (BELUM_ADA_HASIL)."), 503)

STATUS = validate.OneOf(["diterima", "perlu_periksa"])
TANGGAL = {"format": "date-time"}  # ISO 8601 strings as the endpoints write them


class Jawaban(Schema):
    """The 201 answer to a submission, correction or PSU (a replay sends it again)."""

    kode_tps = fields.String(required=True)
    kontes = fields.String(required=True)
    versi = fields.Integer(required=True, metadata={"description": "the version this submission made, from 1"})
    status = fields.String(required=True, validate=STATUS,
                           metadata={"description": "diterima (clean) or perlu_periksa (counted, flagged)"})
    temuan = fields.List(fields.Nested(TemuanSchema), required=True)


class Versi(Schema):
    """One stored version of a TPS result."""

    kode_tps = fields.String(required=True)
    kontes = fields.String(required=True)
    versi = fields.Integer(required=True)
    jenis = fields.String(required=True, validate=validate.OneOf(["kirim", "koreksi", "psu"]),
                          metadata={"description": "kirim (KPPS), koreksi (PPK plenary) or psu (repeat vote)"})
    status = fields.String(required=True, validate=STATUS)
    isian = fields.Dict(required=True, metadata={
        "description": "the form as submitted (the C.Hasil body; a Sirekap import may lack boxes)"})
    temuan = fields.List(fields.Nested(TemuanSchema), required=True)
    alasan = fields.String(required=True, allow_none=True, metadata={"description": "why (corrections, PSU)"})
    oleh = fields.String(required=True, metadata={"description": "the token subject that wrote it"})
    dibuat = fields.String(required=True, metadata=TANGGAL)


class Kunci(Schema):
    """Whether a region is locked after its plenary."""

    kode = fields.String(required=True)
    dikunci = fields.Boolean(required=True)
    oleh_kunci = fields.String(metadata={"description": "the locked region this one is in (GET, when locked)"})
    sejak = fields.String(metadata={**TANGGAL, "description": "locked since (when locked)"})


class TpsFoto(Schema):
    kontes = fields.String(required=True)
    kode_tps = fields.String(required=True)
    halaman = fields.Integer(required=True)


class Tanda(TemuanSchema):
    """A flag on a photo: the other TPS where the same photo (or the same picture) was used."""

    tps = fields.List(fields.Nested(TpsFoto), required=True)


class Lokasi(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    alt = fields.Float()


class Exif(Schema):
    """What the photo's EXIF said (staff only; never in the public copy): each when present."""

    lokasi = fields.Nested(Lokasi)
    waktu = fields.String(metadata={"description": "time taken, as the camera wrote it"})
    perangkat = fields.String(metadata={"description": "camera make and model"})


class Foto(Schema):
    """A stored photo of a C.Hasil page."""

    kontes = fields.String(required=True)
    kode_tps = fields.String(required=True)
    halaman = fields.Integer(required=True)
    sha256 = fields.String(required=True, metadata={"description": "of the bytes sent"})
    jenis = fields.String(required=True, validate=validate.OneOf(["image/jpeg", "image/png", "image/webp"]))
    ukuran = fields.Integer(required=True, metadata={"description": "bytes"})
    lebar = fields.Integer(required=True)
    tinggi = fields.Integer(required=True)
    versi = fields.Integer(required=True, allow_none=True,
                           metadata={"description": "the TPS result's version when it was sent (none yet: null)"})
    oleh = fields.String(required=True)
    exif = fields.Nested(Exif, required=True)
    tanda = fields.List(fields.Nested(Tanda), required=True)
    url = fields.String(required=True, metadata={"description": "the public copy (metadata removed)"})
    dibuat = fields.String(required=True, metadata=TANGGAL)


def temuan_dari_error(messages: dict, prefix: str = "") -> list[dict]:
    """Turn marshmallow's nested error dict into findings that name each field."""
    out = []
    for key, value in messages.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(temuan_dari_error(value, f"{path}."))
            continue
        text = "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        if "Unknown field" in text:
            kode, pesan = "ISIAN_TIDAK_DIKENAL", f"Isian '{path}' tidak dikenal; hapus isian ini."
        elif "Missing data" in text:
            kode, pesan = "ISIAN_WAJIB", f"Isian '{path}' wajib diisi."
        elif "integer" in text.lower():
            kode, pesan = "BUKAN_ANGKA", f"Isian '{path}' harus berupa angka bulat."
        else:
            kode, pesan = "ISIAN_TIDAK_VALID", f"Isian '{path}' tidak valid: {text}"
        out.append({"kode": kode, "pesan": pesan, "message": f"{path}: {text}", "fields": [path]})
    return out
