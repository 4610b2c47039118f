"""What the export service answers, for its OpenAPI document (marshmallow).

Documentation only: the endpoints send the dicts rekap.region, sirekap.agregat and
jobs build, unchanged; the fuzz test (tests/fuzz) checks every answer against these.
"""

from marshmallow import INCLUDE, Schema, fields, validate

from shared.web import TemuanSchema
from services.intake.schemas import TANGGAL, Versi  # noqa: F401 - Versi: the dashboard proxies the intake's history

TINGKAT = validate.OneOf(["nasional", "provinsi", "kabupaten", "kecamatan", "desa", "tps"])


class LPJ(Schema):
    l = fields.Integer(required=True)  # noqa: E741 - the form's own letter: laki-laki
    p = fields.Integer(required=True)  # perempuan
    j = fields.Integer(required=True)  # jumlah


class Pemilih(Schema):
    dpt = fields.Nested(LPJ, required=True)


class Pengguna(Schema):
    dpt = fields.Nested(LPJ, required=True)
    dptb = fields.Nested(LPJ, required=True)
    dpk = fields.Nested(LPJ, required=True)
    total = fields.Nested(LPJ, required=True)


class SuratSuara(Schema):
    diterima = fields.Integer(required=True)
    digunakan = fields.Integer(required=True)
    dikembalikan = fields.Integer(required=True)
    sisa = fields.Integer(required=True)


class Progres(Schema):
    tps_masuk = fields.Integer(required=True)
    tps_total = fields.Integer(required=True)
    persen = fields.Float(required=True, metadata={"description": "TPS reported, percent, two decimals"})


class Angka(Schema):
    """The numbers of a region (or a TPS): the submission's boxes, summed."""

    kode = fields.String(required=True)
    nama = fields.String(required=True)
    tingkat = fields.String(required=True, validate=TINGKAT)
    suara = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                        metadata={"description": "votes by paslon nomor urut"})
    suara_sah = fields.Integer(required=True)
    suara_tidak_sah = fields.Integer(required=True)
    suara_total = fields.Integer(required=True)
    pemilih = fields.Nested(Pemilih, required=True)
    pengguna = fields.Nested(Pengguna, required=True)
    disabilitas = fields.Nested(LPJ, required=True)
    surat_suara = fields.Nested(SuratSuara, required=True)
    progres = fields.Nested(Progres, required=True)
    tps_perlu_periksa = fields.Integer(required=True)


class Anak(Angka):
    """A child region, reported or not; a desa's children are its TPS, with these too:"""

    kode_desa = fields.String()
    nama_desa = fields.String(allow_none=True)
    kode_kecamatan = fields.String()
    nama_kecamatan = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(["diterima", "perlu_periksa", "belum"]))
    versi = fields.Integer(allow_none=True, metadata={"description": "the current version; null: none yet"})
    temuan = fields.List(fields.Nested(TemuanSchema), metadata={"description": "of a perlu_periksa TPS"})


class Rekap(Angka):
    """The recap of one region (api.md), with every child."""

    kontes = fields.String(required=True)
    anak = fields.List(fields.Nested(Anak), required=True)
    versi_data = fields.Integer(required=True, metadata={"description": "grows with every change of the recap"})
    diperbarui = fields.String(required=True, metadata=TANGGAL)


class SirekapBaris(Schema):
    """A child in Sirekap's `table`: one key per paslon (its Sirekap id) holding its votes,
    null when the child has no TPS reported, beside these."""

    class Meta:
        unknown = INCLUDE  # the paslon keys, named by data

    persen = fields.Float(required=True)
    psu = fields.String(required=True)
    status_progress = fields.Boolean(required=True)


class SirekapProgres(Schema):
    progres = fields.Integer(required=True)
    total = fields.Integer(required=True)


class SirekapRekap(Schema):
    kode = fields.String(required=True)
    nama = fields.String(required=True)
    tingkat = fields.String(required=True, validate=TINGKAT)
    kontes = fields.String(required=True)
    versi_data = fields.Integer(required=True, allow_none=True)
    tps_perlu_periksa = fields.Integer(required=True)


class Sirekap(Schema):
    """The recap of one region in Sirekap 2024's aggregate shape (domain.md)."""

    mode = fields.String(required=True)
    chart = fields.Dict(keys=fields.String(), values=fields.Float(), required=True,
                        metadata={"description": "votes by paslon Sirekap id, and `persen`"})
    progres = fields.Nested(SirekapProgres, required=True)
    psu = fields.String(required=True)
    table = fields.Dict(keys=fields.String(), values=fields.Nested(SirekapBaris), required=True,
                        metadata={"description": "by child region code"})
    ts = fields.String(required=True, allow_none=True,
                       metadata={"description": "last update, WIB, YYYY-MM-DD HH:MM:SS"})
    rekap = fields.Nested(SirekapRekap, required=True)


class Pekerjaan(Schema):
    """A workbook job (202): poll `url` until it answers the file."""

    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["antre", "berjalan", "selesai", "gagal"]))
    url = fields.String(required=True)
    kontes = fields.String()
    kode = fields.String()
    versi_data = fields.Integer()
    dibuat = fields.String(metadata=TANGGAL)
    diperbarui = fields.String(metadata=TANGGAL)
    berkas = fields.String()
    kunci = fields.String()
    pesan = fields.String()


PEKERJAAN_HEADERS = {"Location": {"description": "the job's URL", "schema": {"type": "string"}},
                     "Retry-After": {"description": "seconds before asking again", "schema": {"type": "integer"}}}


# --- the dashboard's staff JSON -------------------------------------------------------

class Saya(Schema):
    """Who the request's token is, and what the dashboard lets it do."""

    peran = fields.String(required=True)
    peran_label = fields.String(required=True)
    wilayah = fields.String(required=True)
    nama_wilayah = fields.String(required=True)
    tingkat = fields.String(required=True, validate=TINGKAT)
    boleh_unduh = fields.Boolean(required=True)
    boleh_periksa = fields.Boolean(required=True)
    kedaluwarsa = fields.String(required=True, metadata=TANGGAL)


class TemuanRingkas(Schema):
    kode = fields.String(required=True, allow_none=True)
    pesan = fields.String(required=True, allow_none=True)
    fields_ = fields.List(fields.String(), required=True, data_key="fields", attribute="fields")


class TpsPeriksa(Schema):
    kode = fields.String(required=True)
    nama = fields.String(required=True)
    nama_desa = fields.String(required=True, allow_none=True)
    nama_kecamatan = fields.String(required=True, allow_none=True)
    versi = fields.Integer(required=True)
    dibuat = fields.String(required=True, metadata=TANGGAL)
    temuan = fields.List(fields.Nested(TemuanRingkas), required=True)


class Periksa(Schema):
    """The review list: the TPS whose current result is perlu_periksa (at most PERIKSA_MAKS)."""

    kontes = fields.String(required=True)
    kode = fields.String(required=True, metadata={"description": "the region listed (the token's own, "
                                                                 "when it asked for a wider one)"})
    jumlah = fields.Integer(required=True, metadata={"description": "every such TPS, exact"})
    ditampilkan = fields.Integer(required=True, metadata={"description": "listed here"})
    tps = fields.List(fields.Nested(TpsPeriksa), required=True)
