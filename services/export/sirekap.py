"""The recap of a region in Sirekap 2024's aggregate shape (domain.md), so
tools written for KPU's public Sirekap JSON read rekap as they are.

    {"mode": "hhcw", "chart": {"<sirekap id>": votes, ..., "persen": ..},
     "progres": {"progres": <TPS in>, "total": <TPS>}, "psu": "Reguler",
     "table": {"<child kode>": {"<sirekap id>": votes, ..., "persen": .., "psu": "Reguler",
                                "status_progress": bool}},
     "ts": "YYYY-MM-DD HH:MM:SS"}

- candidate keys are the paslon's Sirekap ids (`paslon.sirekap_id`; the nomor
  urut where a contest has none);
- `persen` is the share of TPS reported, in percent (a TPS child: 100 or 0);
- a child with no TPS reported has null votes and `status_progress` false;
- `ts` is the last recap update in WIB (UTC+7), as Sirekap printed it;
- `rekap` (an addition Sirekap did not have) names the region, the contest,
  the data version and the TPS to check.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

WIB = timezone(timedelta(hours=7))
PSU = "Reguler"


def _ts(diperbarui: str | None) -> str | None:
    if not diperbarui:
        return None
    waktu = datetime.fromisoformat(diperbarui.replace("Z", "+00:00"))
    return waktu.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S")


def agregat(data: dict, paslon: list[dict]) -> dict:
    """`data` is the recap JSON of the export API (with `anak`), `paslon` the contest's."""
    ids = [(str(p["nomor_urut"]), str(p.get("sirekap_id") or p["nomor_urut"])) for p in paslon]

    def suara(r: dict, masuk: bool) -> dict:
        votes = r.get("suara") or {}
        return {sid: (votes.get(nomor, 0) if masuk else None) for nomor, sid in ids}

    table = {}
    for anak in data.get("anak") or []:
        if anak.get("tingkat") == "tps":
            masuk = anak.get("status", "belum") != "belum"
            persen = 100.0 if masuk else 0.0
        else:
            masuk = anak["progres"]["tps_masuk"] > 0
            persen = anak["progres"]["persen"]
        table[anak["kode"]] = {**suara(anak, masuk), "persen": persen, "psu": PSU, "status_progress": masuk}
    progres = data["progres"]
    return {
        "mode": "hhcw",
        "chart": {**suara(data, True), "persen": progres["persen"]},
        "progres": {"progres": progres["tps_masuk"], "total": progres["tps_total"]},
        "psu": PSU,
        "table": table,
        "ts": _ts(data.get("diperbarui")),
        "rekap": {"kode": data["kode"], "nama": data["nama"], "tingkat": data["tingkat"],
                  "kontes": data["kontes"], "versi_data": data.get("versi_data"),
                  "tps_perlu_periksa": data.get("tps_perlu_periksa", 0)},
    }
