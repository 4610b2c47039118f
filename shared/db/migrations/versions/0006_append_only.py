"""append-only: result versions and the audit record refuse UPDATE, DELETE and TRUNCATE

Enforced by the database, not by the application's good manners: a trigger
raises for every role, so a bug, an operator's stray SQL or a compromised
application account cannot rewrite history. (A superuser can still disable
triggers; run the services under a non-superuser role, see docs/reliability.md.)

Revision ID: 0006
Revises: 0002
"""
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("hasil", "audit")


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION rekap_tolak_ubah() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'tabel % hanya bisa ditambah (append-only): % ditolak', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$""")
    for table in TABLES:
        op.execute(f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                       FOR EACH ROW EXECUTE FUNCTION rekap_tolak_ubah()""")
        op.execute(f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                       FOR EACH STATEMENT EXECUTE FUNCTION rekap_tolak_ubah()""")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute("DROP FUNCTION rekap_tolak_ubah()")
