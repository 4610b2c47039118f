"""recap sidik: the fingerprint of the TPS versions each recap row was summed from

`rekap.sidik` is, for a desa, the sum of the `hasil_kini.hasil_id` of its
current TPS results; above the desa, the sum of the children's. Version ids
only grow, so any new version under a region changes it: the reconciler
compares it with the stored rows below and re-queues what disagrees.
Existing rows start at 0, so the first reconciliation re-queues every desa
that already has results, once (the upgrade heals itself).

Revision ID: 0003
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rekap", sa.Column("sidik", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("rekap", "sidik")
