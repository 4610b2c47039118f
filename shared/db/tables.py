"""The schema. Alembic migrations in `migrations/` create it; this module is
what the code queries and what `alembic check` compares the migrations with.

Result versions are append-only: a submission, correction or PSU adds a row
to `hasil` and moves the `hasil_kini` pointer; nothing is updated in place.
"""

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Index,
    Integer, MetaData, SmallInteger, String, Table, Text, UniqueConstraint, func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

# Every region, TPS included (tingkat 'tps'): the hierarchy by kode_induk.
wilayah = Table(
    "wilayah", metadata,
    Column("kode", String(13), primary_key=True),
    Column("tingkat", String(10), nullable=False),
    Column("nama", Text, nullable=False),
    Column("kode_induk", String(13), nullable=True, index=True),
    Column("tps_reguler", Integer, nullable=True),
    Column("tps_khusus", Text, nullable=True),
)

kontes = Table(
    "kontes", metadata,
    Column("kode", String(16), primary_key=True),
    Column("nama", Text, nullable=False),
)

paslon = Table(
    "paslon", metadata,
    Column("kontes", String(16), ForeignKey("kontes.kode"), primary_key=True),
    Column("nomor_urut", SmallInteger, primary_key=True),
    Column("nama", Text, nullable=False),
    Column("sirekap_id", String(16), nullable=True),  # Sirekap's candidate id, for import/export
)

# Where a contest is held: the regions (and everything under them) that vote in it.
kontes_wilayah = Table(
    "kontes_wilayah", metadata,
    Column("kontes", String(16), ForeignKey("kontes.kode"), primary_key=True),
    Column("kode_wilayah", String(13), ForeignKey("wilayah.kode"), primary_key=True),
)

# Every version of every TPS result, oldest first; never updated, never deleted.
hasil = Table(
    "hasil", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kontes", String(16), ForeignKey("kontes.kode"), nullable=False),
    Column("kode_tps", String(13), ForeignKey("wilayah.kode"), nullable=False),
    Column("versi", Integer, nullable=False),
    Column("jenis", String(10), nullable=False),  # kirim | koreksi | psu
    Column("status", String(16), nullable=False),  # diterima | perlu_periksa
    Column("angka", JSONB, nullable=False),  # flat counted boxes, see shared.domain.hasil
    Column("isian", JSONB, nullable=False),  # the body as sent, J boxes and all
    Column("temuan", JSONB, nullable=False),
    Column("alasan", Text, nullable=True),  # why: required for koreksi and psu
    Column("oleh", Text, nullable=False),  # who: the token's subject
    Column("dibuat", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("idempotency_key", Text, nullable=True),
    Column("isian_sha256", String(64), nullable=True),
    Column("jawaban", JSONB, nullable=True),  # the 201 body, replayed for the same key
    UniqueConstraint("kontes", "kode_tps", "versi", name="hasil_versi_unik"),
    UniqueConstraint("kontes", "kode_tps", "idempotency_key", name="hasil_idempotency_unik"),
    CheckConstraint("jenis IN ('kirim', 'koreksi', 'psu')", name="hasil_jenis"),
    CheckConstraint("status IN ('diterima', 'perlu_periksa')", name="hasil_status"),
)

# The current version of each TPS result: a pointer, with the counted numbers
# copied beside it so rollups and verify read one narrow table.
hasil_kini = Table(
    "hasil_kini", metadata,
    Column("kontes", String(16), primary_key=True),
    Column("kode_tps", String(13), primary_key=True),
    Column("kode_desa", String(10), nullable=False),
    Column("hasil_id", BigInteger, ForeignKey("hasil.id"), nullable=False),
    Column("versi", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("angka", JSONB, nullable=False),
    Index("hasil_kini_desa", "kontes", "kode_desa"),
)

# The stored recap of each (kontes, region), recomputed from its children.
rekap = Table(
    "rekap", metadata,
    Column("kontes", String(16), ForeignKey("kontes.kode"), primary_key=True),
    Column("kode", String(13), ForeignKey("wilayah.kode"), primary_key=True),
    Column("tingkat", String(10), nullable=False),
    Column("angka", JSONB, nullable=False, server_default="{}"),
    Column("tps_masuk", Integer, nullable=False, server_default="0"),
    Column("tps_total", Integer, nullable=False, server_default="0"),
    Column("tps_perlu_periksa", Integer, nullable=False, server_default="0"),
    Column("versi", BigInteger, nullable=False, server_default="0"),  # bumped on every change: cache key
    # Fingerprint of the TPS versions summed: sum of hasil_kini.hasil_id below (migration 0003).
    Column("sidik", BigInteger, nullable=False, server_default="0"),
    Column("diperbarui", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Transactional outbox: "this region needs a rollup", committed with the change
# that caused it. Rows are claimed and deleted by the recap workers.
outbox = Table(
    "outbox", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kontes", String(16), nullable=False),
    Column("kode", String(13), nullable=False),
    Column("kedalaman", SmallInteger, nullable=False),  # depth: 4 desa .. 0 nasional; deepest first
    Column("dibuat", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("outbox_antrean", "kedalaman", "id"),
)

# Bearer tokens: only the id and what it grants; the signature key never touches the database.
token = Table(
    "token", metadata,
    Column("id", String(32), primary_key=True),
    Column("peran", String(16), nullable=False),
    Column("kode_wilayah", String(13), nullable=False),
    Column("subjek", Text, nullable=False),
    Column("dibuat", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("kedaluwarsa", DateTime(timezone=True), nullable=False),
    Column("dicabut", DateTime(timezone=True), nullable=True),
)

# A region locked after its plenary: no submission or correction below it.
kunci = Table(
    "kunci", metadata,
    Column("kode_wilayah", String(13), primary_key=True),
    Column("oleh", Text, nullable=False),
    Column("dibuat", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Every change other than a result version (those are their own record): locks,
# unlocks, tokens issued and revoked. Appended, never updated or deleted.
audit = Table(
    "audit", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("dibuat", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("oleh", Text, nullable=False),
    Column("tindakan", String(32), nullable=False),  # kunci | buka_kunci | token_terbit | token_cabut
    Column("kode_wilayah", String(13), nullable=True, index=True),
    Column("rincian", JSONB, nullable=False, server_default="{}"),
)

# C.Hasil photos, the evidence beside the numbers (services/intake/foto.py; migration 0005).
# Files are content-addressed under REKAP_DATA_DIR by the SHA-256 of the uploaded bytes: the
# original (kept, with its EXIF) and the public copy (every metadata segment stripped).
foto = Table(
    "foto", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kontes", String(16), ForeignKey("kontes.kode"), nullable=False),
    Column("kode_tps", String(13), ForeignKey("wilayah.kode"), nullable=False),
    Column("halaman", SmallInteger, nullable=False),  # page of the form
    Column("sha256", String(64), nullable=False),  # of the uploaded bytes
    Column("jenis", String(16), nullable=False),  # image/jpeg | image/png | image/webp
    Column("ukuran", Integer, nullable=False),  # bytes
    Column("lebar", Integer, nullable=False),
    Column("tinggi", Integer, nullable=False),
    Column("dhash", BigInteger, nullable=True),  # perceptual hash: the same picture re-saved elsewhere
    Column("hasil_id", BigInteger, ForeignKey("hasil.id"), nullable=True),  # the TPS's current version then
    Column("versi", Integer, nullable=True),
    Column("oleh", Text, nullable=False),  # the uploader's token subject
    Column("exif", JSONB, nullable=False, server_default="{}"),  # location, time, device: staff only
    Column("tanda", JSONB, nullable=False, server_default="[]"),  # flags at upload (re-used photo)
    Column("dibuat", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("kontes", "kode_tps", "halaman", "sha256", name="foto_unik"),
    CheckConstraint("halaman BETWEEN 1 AND 99", name="foto_halaman"),
    Index("foto_sha256", "sha256"),
)
# The four 16-bit bands of the difference hash: near-equal hashes share a band (services/intake/foto.py).
for _i, _shift in enumerate((48, 32, 16, 0)):
    Index(f"foto_dhash_{_i}", foto.c.dhash.op(">>")(_shift).op("&")(65535))
del _i, _shift

# Every Sirekap file imported (services/sirekap.py; migration 0005): its source, Sirekap's time
# stamp, the outcome, and the version it stored. One row per (contest, TPS, file content).
impor_sirekap = Table(
    "impor_sirekap", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kontes", Text, nullable=False),  # as the file's place or the command named it
    Column("kode_tps", Text, nullable=False),  # the file name: possibly no known TPS
    Column("berkas", Text, nullable=False),  # source path
    Column("berkas_sha256", String(64), nullable=False),
    Column("ts", DateTime(timezone=True), nullable=True),  # Sirekap's `ts`
    Column("keputusan", String(20), nullable=False),  # diterima | perlu_periksa | ditolak | tidak_lengkap | ...
    Column("hasil_id", BigInteger, ForeignKey("hasil.id"), nullable=True, index=True),
    Column("versi", Integer, nullable=True),
    Column("temuan", JSONB, nullable=False, server_default="[]"),
    Column("tidak_dilaporkan", JSONB, nullable=False, server_default="[]"),  # blocks Sirekap lacks
    Column("sirekap", JSONB, nullable=False, server_default="{}"),  # mode, psu, status_*, images
    Column("oleh", Text, nullable=False),
    Column("dibuat", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("kontes", "kode_tps", "berkas_sha256", name="impor_sirekap_unik"),
)
