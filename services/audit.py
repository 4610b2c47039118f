"""`rekap audit KODE`: a region's history of changes, oldest first: every
result version under it (who, when, what kind, why) and every lock, unlock
and token of its wilayah."""

from sqlalchemy import Connection, text


def history(conn: Connection, kode: str, kontes: str | None = None) -> list[dict]:
    prefix = "" if kode == "0" else kode
    rows = conn.execute(text("""
        SELECT dibuat, oleh, 'hasil_' || jenis AS tindakan, kode_tps AS kode,
               jsonb_build_object('kontes', kontes, 'versi', versi, 'status', status, 'alasan', alasan,
                                  'temuan', (SELECT jsonb_agg(t->>'kode') FROM jsonb_array_elements(temuan) t))
                   AS rincian
        FROM hasil WHERE kode_tps LIKE :prefix AND (CAST(:kontes AS text) IS NULL OR kontes = CAST(:kontes AS text))
        UNION ALL
        SELECT dibuat, oleh, tindakan, kode_wilayah AS kode, rincian
        FROM audit WHERE kode_wilayah LIKE :prefix OR (:kode = '0' AND kode_wilayah IS NULL)
        ORDER BY dibuat, kode"""), {"prefix": prefix + "%", "kontes": kontes, "kode": kode})
    return [{"dibuat": r.dibuat.isoformat(), "oleh": r.oleh, "tindakan": r.tindakan, "kode": r.kode,
             "rincian": r.rincian} for r in rows]
