"""foto and impor_sirekap: C.Hasil photos as evidence, and the record of Sirekap imports

Revision ID: 0005
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "foto",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kontes", sa.String(length=16), nullable=False),
        sa.Column("kode_tps", sa.String(length=13), nullable=False),
        sa.Column("halaman", sa.SmallInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("jenis", sa.String(length=16), nullable=False),
        sa.Column("ukuran", sa.Integer(), nullable=False),
        sa.Column("lebar", sa.Integer(), nullable=False),
        sa.Column("tinggi", sa.Integer(), nullable=False),
        sa.Column("dhash", sa.BigInteger(), nullable=True),
        sa.Column("hasil_id", sa.BigInteger(), nullable=True),
        sa.Column("versi", sa.Integer(), nullable=True),
        sa.Column("oleh", sa.Text(), nullable=False),
        sa.Column("exif", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("tanda", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("dibuat", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("halaman BETWEEN 1 AND 99", name="foto_halaman"),
        sa.ForeignKeyConstraint(["hasil_id"], ["hasil.id"]),
        sa.ForeignKeyConstraint(["kode_tps"], ["wilayah.kode"]),
        sa.ForeignKeyConstraint(["kontes"], ["kontes.kode"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kontes", "kode_tps", "halaman", "sha256", name="foto_unik"),
    )
    op.create_index("foto_sha256", "foto", ["sha256"], unique=False)
    # The four 16-bit bands of the difference hash: near-equal hashes share one (pigeonhole).
    for i, shift in enumerate((48, 32, 16, 0)):
        op.execute(f"CREATE INDEX foto_dhash_{i} ON foto (((dhash >> {shift}) & 65535))")
    op.create_table(
        "impor_sirekap",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kontes", sa.Text(), nullable=False),
        sa.Column("kode_tps", sa.Text(), nullable=False),
        sa.Column("berkas", sa.Text(), nullable=False),
        sa.Column("berkas_sha256", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("keputusan", sa.String(length=20), nullable=False),
        sa.Column("hasil_id", sa.BigInteger(), nullable=True),
        sa.Column("versi", sa.Integer(), nullable=True),
        sa.Column("temuan", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("tidak_dilaporkan", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("sirekap", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("oleh", sa.Text(), nullable=False),
        sa.Column("dibuat", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["hasil_id"], ["hasil.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kontes", "kode_tps", "berkas_sha256", name="impor_sirekap_unik"),
    )
    op.create_index(op.f("ix_impor_sirekap_hasil_id"), "impor_sirekap", ["hasil_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_impor_sirekap_hasil_id"), table_name="impor_sirekap")
    op.drop_table("impor_sirekap")
    for i in range(4):
        op.drop_index(f"foto_dhash_{i}", table_name="foto")
    op.drop_index("foto_sha256", table_name="foto")
    op.drop_table("foto")
