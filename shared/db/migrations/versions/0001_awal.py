"""awal: the first schema (regions, contests, result versions, recap, outbox, tokens, locks)

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 22:33:46.367833
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kontes',
    sa.Column('kode', sa.String(length=16), nullable=False),
    sa.Column('nama', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('kode')
    )
    op.create_table('kunci',
    sa.Column('kode_wilayah', sa.String(length=13), nullable=False),
    sa.Column('oleh', sa.Text(), nullable=False),
    sa.Column('dibuat', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('kode_wilayah')
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('kontes', sa.String(length=16), nullable=False),
    sa.Column('kode', sa.String(length=13), nullable=False),
    sa.Column('kedalaman', sa.SmallInteger(), nullable=False),
    sa.Column('dibuat', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('outbox_antrean', 'outbox', ['kedalaman', 'id'], unique=False)
    op.create_table('token',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('peran', sa.String(length=16), nullable=False),
    sa.Column('kode_wilayah', sa.String(length=13), nullable=False),
    sa.Column('subjek', sa.Text(), nullable=False),
    sa.Column('dibuat', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('kedaluwarsa', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dicabut', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('wilayah',
    sa.Column('kode', sa.String(length=13), nullable=False),
    sa.Column('tingkat', sa.String(length=10), nullable=False),
    sa.Column('nama', sa.Text(), nullable=False),
    sa.Column('kode_induk', sa.String(length=13), nullable=True),
    sa.Column('tps_reguler', sa.Integer(), nullable=True),
    sa.Column('tps_khusus', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('kode')
    )
    op.create_index(op.f('ix_wilayah_kode_induk'), 'wilayah', ['kode_induk'], unique=False)
    op.create_table('hasil',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('kontes', sa.String(length=16), nullable=False),
    sa.Column('kode_tps', sa.String(length=13), nullable=False),
    sa.Column('versi', sa.Integer(), nullable=False),
    sa.Column('jenis', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('angka', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('isian', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('temuan', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('alasan', sa.Text(), nullable=True),
    sa.Column('oleh', sa.Text(), nullable=False),
    sa.Column('dibuat', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('idempotency_key', sa.Text(), nullable=True),
    sa.Column('isian_sha256', sa.String(length=64), nullable=True),
    sa.Column('jawaban', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.CheckConstraint("jenis IN ('kirim', 'koreksi', 'psu')", name='hasil_jenis'),
    sa.CheckConstraint("status IN ('diterima', 'perlu_periksa')", name='hasil_status'),
    sa.ForeignKeyConstraint(['kode_tps'], ['wilayah.kode'], ),
    sa.ForeignKeyConstraint(['kontes'], ['kontes.kode'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kontes', 'kode_tps', 'idempotency_key', name='hasil_idempotency_unik'),
    sa.UniqueConstraint('kontes', 'kode_tps', 'versi', name='hasil_versi_unik')
    )
    op.create_table('kontes_wilayah',
    sa.Column('kontes', sa.String(length=16), nullable=False),
    sa.Column('kode_wilayah', sa.String(length=13), nullable=False),
    sa.ForeignKeyConstraint(['kode_wilayah'], ['wilayah.kode'], ),
    sa.ForeignKeyConstraint(['kontes'], ['kontes.kode'], ),
    sa.PrimaryKeyConstraint('kontes', 'kode_wilayah')
    )
    op.create_table('paslon',
    sa.Column('kontes', sa.String(length=16), nullable=False),
    sa.Column('nomor_urut', sa.SmallInteger(), nullable=False),
    sa.Column('nama', sa.Text(), nullable=False),
    sa.Column('sirekap_id', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['kontes'], ['kontes.kode'], ),
    sa.PrimaryKeyConstraint('kontes', 'nomor_urut')
    )
    op.create_table('rekap',
    sa.Column('kontes', sa.String(length=16), nullable=False),
    sa.Column('kode', sa.String(length=13), nullable=False),
    sa.Column('tingkat', sa.String(length=10), nullable=False),
    sa.Column('angka', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('tps_masuk', sa.Integer(), server_default='0', nullable=False),
    sa.Column('tps_total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('tps_perlu_periksa', sa.Integer(), server_default='0', nullable=False),
    sa.Column('versi', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('diperbarui', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['kode'], ['wilayah.kode'], ),
    sa.ForeignKeyConstraint(['kontes'], ['kontes.kode'], ),
    sa.PrimaryKeyConstraint('kontes', 'kode')
    )
    op.create_table('hasil_kini',
    sa.Column('kontes', sa.String(length=16), nullable=False),
    sa.Column('kode_tps', sa.String(length=13), nullable=False),
    sa.Column('kode_desa', sa.String(length=10), nullable=False),
    sa.Column('hasil_id', sa.BigInteger(), nullable=False),
    sa.Column('versi', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('angka', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['hasil_id'], ['hasil.id'], ),
    sa.PrimaryKeyConstraint('kontes', 'kode_tps')
    )
    op.create_index('hasil_kini_desa', 'hasil_kini', ['kontes', 'kode_desa'], unique=False)


def downgrade() -> None:
    op.drop_index('hasil_kini_desa', table_name='hasil_kini')
    op.drop_table('hasil_kini')
    op.drop_table('rekap')
    op.drop_table('paslon')
    op.drop_table('kontes_wilayah')
    op.drop_table('hasil')
    op.drop_index(op.f('ix_wilayah_kode_induk'), table_name='wilayah')
    op.drop_table('wilayah')
    op.drop_table('token')
    op.drop_index('outbox_antrean', table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('kunci')
    op.drop_table('kontes')
