"""The export service's pure parts (no stack needed): code ranges and the Sirekap 2024 aggregate shape."""

from services.export.rekap import rentang
from services.export.sirekap import agregat

PASLON = [{"nomor_urut": 1, "sirekap_id": "100025"}, {"nomor_urut": 2, "sirekap_id": "100026"},
          {"nomor_urut": 3, "sirekap_id": None}]


def test_ranges_cover_exactly_the_codes_under_a_region():
    assert rentang("3517") == ("3517", "3518")
    assert rentang("351719") == ("351719", "351720")
    assert rentang("3599") == ("3599", "3600")
    assert rentang("99") == ("99", None)
    assert rentang("0") == (None, None)
    lo, hi = rentang("3519")
    for kode, inside in (("3519012001001", True), ("3518999999999", False), ("3520012001001", False),
                         ("3519", True)):
        assert (lo <= kode < hi) is inside


def region(kode, suara, masuk, total, **extra):
    return {"kode": kode, "nama": kode, "suara": suara, "progres": {"tps_masuk": masuk, "tps_total": total,
            "persen": round(100 * masuk / total, 2) if total else 0.0}, **extra}


def test_sirekap_aggregate_shape():
    anak = [region("351701", {"1": 5, "2": 7, "3": 1}, 2, 4, tingkat="kecamatan"),
            region("351702", {"1": 0, "2": 0, "3": 0}, 0, 3, tingkat="kecamatan")]
    data = {**region("3517", {"1": 5, "2": 7, "3": 1}, 2, 7), "tingkat": "kabupaten", "kontes": "ppwp",
            "anak": anak, "diperbarui": "2024-02-16T04:00:29Z", "versi_data": 9, "tps_perlu_periksa": 0}
    s = agregat(data, PASLON)
    assert s["mode"] == "hhcw" and s["psu"] == "Reguler"
    assert s["chart"] == {"100025": 5, "100026": 7, "3": 1, "persen": 28.57}
    assert s["progres"] == {"progres": 2, "total": 7}
    assert s["table"]["351701"] == {"100025": 5, "100026": 7, "3": 1, "persen": 50.0, "psu": "Reguler",
                                    "status_progress": True}
    assert s["table"]["351702"]["100025"] is None and s["table"]["351702"]["status_progress"] is False
    assert s["ts"] == "2024-02-16 11:00:29"  # WIB, as Sirekap printed it
    assert s["rekap"]["versi_data"] == 9


def test_sirekap_tps_children():
    tps = [{"kode": "3517012001001", "tingkat": "tps", "status": "diterima", "suara": {"1": 1, "2": 2, "3": 3}},
           {"kode": "3517012001002", "tingkat": "tps", "status": "belum", "suara": {"1": 0, "2": 0, "3": 0}}]
    data = {**region("3517012001", {"1": 1, "2": 2, "3": 3}, 1, 2), "tingkat": "desa", "kontes": "ppwp",
            "anak": tps, "diperbarui": None}
    s = agregat(data, PASLON)
    assert s["table"]["3517012001001"]["persen"] == 100.0
    assert s["table"]["3517012001002"] == {"100025": None, "100026": None, "3": None, "persen": 0.0,
                                           "psu": "Reguler", "status_progress": False}
    assert s["ts"] is None
