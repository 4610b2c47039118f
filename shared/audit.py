"""The audit record of every change that is not a result version: who, when, what, where."""

import json

from sqlalchemy import Connection, text


def record(conn: Connection, oleh: str, tindakan: str, kode_wilayah: str | None = None, **rincian) -> None:
    """Append one entry, inside the caller's transaction (the change and its record commit together)."""
    conn.execute(text("""INSERT INTO audit (oleh, tindakan, kode_wilayah, rincian)
                         VALUES (:oleh, :tindakan, :kode, CAST(:rincian AS jsonb))"""),
                 {"oleh": oleh, "tindakan": tindakan, "kode": kode_wilayah, "rincian": json.dumps(rincian)})
