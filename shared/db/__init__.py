"""The system of record: PostgreSQL through SQLAlchemy 2 and psycopg 3."""
