"""audit: the record of locks, unlocks and tokens

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("dibuat", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("oleh", sa.Text(), nullable=False),
        sa.Column("tindakan", sa.String(length=32), nullable=False),
        sa.Column("kode_wilayah", sa.String(length=13), nullable=True),
        sa.Column("rincian", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_kode_wilayah"), "audit", ["kode_wilayah"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_kode_wilayah"), table_name="audit")
    op.drop_table("audit")
