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
