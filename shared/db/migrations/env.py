from alembic import context
from sqlalchemy import create_engine

from shared.db.tables import metadata

config = context.config


def run() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            # Two processes migrating at once (compose restarts, parallel tests) wait their turn.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727001)")
            context.run_migrations()
    engine.dispose()


run()
