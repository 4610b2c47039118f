"""The C.Hasil body, field by field (marshmallow; also the OpenAPI document).

Types and shape only: unknown fields are refused, every number is a whole
number (true/false and "12" are not). Ranges and the form's rules live in
shared.domain.aturan, one place for the API and the Sirekap import alike.
"""

from marshmallow import RAISE, Schema, ValidationError, fields, validates


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
        bad = [k for k in value if not (k.isdigit() and 0 < int(k) < 100)]
        if bad:
            raise ValidationError(f"not a paslon number: {', '.join(bad)}")


class Koreksi(CHasil):
    alasan = fields.String(required=True, metadata={"description": "why the result is corrected"})


class Jawaban(Schema):
    """The 201 answer."""

    kode_tps = fields.String()
    kontes = fields.String()
    versi = fields.Integer()
    status = fields.String(metadata={"description": "diterima | perlu_periksa"})
    temuan = fields.List(fields.Dict())


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
