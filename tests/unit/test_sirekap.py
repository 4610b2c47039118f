"""Sirekap 2024 JSON <-> C.Hasil, and the import's verdict: pure, no database.

The fixtures in tests/fixtures/sirekap are files in Sirekap's own shape and
layout; harapan.json says what the import must make of each (outcome and
the finding codes that must be among its findings)."""

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import sirekap
from shared.domain import aturan, hasil
from services import sirekap as impor
from services.intake.periksa import nilai
from tests.strategies import form

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sirekap"
IDS = {"100025": 1, "100026": 2, "100027": 3}
PASLON = [1, 2, 3]
PAIRS = [(1, "100025"), (2, "100026"), (3, "100027")]
EXAMPLE = json.loads((FIXTURES / "pemilu/hhcw/ppwp/35/3517/351714/3517142001/3517142001001.json").read_text())
SKIPPED = {"DISABILITAS_MELEBIHI_PENGGUNA", "SURAT_SUARA_TIDAK_SESUAI", "SURAT_SUARA_DIGUNAKAN_TIDAK_SESUAI"}


def _kode(temuan):
    return [t["kode"] for t in temuan]


# --- reading a Sirekap TPS file -------------------------------------------------


def test_the_domain_example_reads_box_by_box():
    b = sirekap.baca_tps(EXAMPLE, IDS)
    assert b.lengkap and not b.temuan
    assert b.body == {
        "pemilih": {"dpt": {"l": 123, "p": 143, "j": 266}},
        "pengguna": {"dpt": {"l": 108, "p": 130, "j": 238}, "dptb": {"l": 0, "p": 1, "j": 1},
                     "dpk": {"l": 0, "p": 0, "j": 0}, "total": {"l": 108, "p": 131, "j": 239}},
        "suara": {"1": 15, "2": 182, "3": 36},
        "suara_sah": 233, "suara_tidak_sah": 6, "suara_total": 239,
    }
    assert b.tidak_dilaporkan == ("surat_suara", "disabilitas")
    assert b.ts == datetime(2024, 2, 16, 4, 0, 29, tzinfo=timezone.utc)
    assert b.ts.utcoffset() == timedelta(hours=7)
    assert b.meta["status_adm"] is True and len(b.meta["images"]) == 3


def test_null_administrasi_or_chart_is_incomplete_never_guessed():
    b = sirekap.baca_tps({**EXAMPLE, "administrasi": None, "status_adm": False}, IDS)
    assert b.body is None and b.kurang == ["administrasi"]
    b = sirekap.baca_tps({**EXAMPLE, "chart": None}, IDS)
    assert b.body is None and b.kurang == ["chart"]
    b = sirekap.baca_tps({k: v for k, v in EXAMPLE.items() if k not in ("chart", "administrasi")}, IDS)
    assert b.kurang == ["administrasi", "chart"]


def test_each_null_box_is_listed():
    data = copy.deepcopy(EXAMPLE)
    data["administrasi"].update(pengguna_dptb_l=None, pemilih_dpt_p=None, suara_sah=None)
    data["chart"]["100026"] = None
    del data["chart"]["100027"]
    b = sirekap.baca_tps(data, IDS)
    assert b.body is None
    assert b.kurang == ["administrasi.pemilih_dpt_p", "administrasi.pengguna_dptb_l", "administrasi.suara_sah",
                        "chart.100026", "chart.100027"]


def test_derived_boxes_may_be_null_and_are_then_not_checked():
    data = copy.deepcopy(EXAMPLE)
    data["administrasi"].update(pemilih_dpt_j=None, pengguna_total_l=None)
    b = sirekap.baca_tps(data, IDS)
    assert b.lengkap
    assert b.body["pemilih"]["dpt"] == {"l": 123, "p": 143}
    assert "total" not in b.body["pengguna"]


def test_a_candidate_id_that_is_no_paslon_is_a_finding():
    data = copy.deepcopy(EXAMPLE)
    data["chart"]["100028"] = 4
    b = sirekap.baca_tps(data, IDS)
    assert _kode(b.temuan) == ["PASLON_SIREKAP_TIDAK_DIKENAL"]
    assert b.temuan[0]["fields"] == ["chart.100028"] and "100028" in b.temuan[0]["pesan"]


def test_not_an_object_and_bad_time_stamps():
    b = sirekap.baca_tps([1, 2], IDS)
    assert b.body is None and _kode(b.temuan) == ["BUKAN_DATA_TPS"]
    assert sirekap.parse_ts("16/02/2024") is None and sirekap.parse_ts(None) is None
    assert sirekap.baca_tps({**EXAMPLE, "ts": 17}, IDS).ts is None


# --- the import's verdict: the API's rules, minus what Sirekap never reports ---


def test_clean_result_is_accepted_with_the_absent_blocks_named():
    body = sirekap.baca_tps(EXAMPLE, IDS).body
    v = impor.nilai_impor(body, PASLON)
    assert v.status == "diterima" and _kode(v.temuan) == ["TIDAK_DILAPORKAN"]
    assert v.temuan[0]["fields"] == ["surat_suara", "disabilitas"] and v.temuan[0]["pesan"] and v.temuan[0]["message"]
    assert v.angka == {k: val for k, val in hasil.ratakan({**body, "disabilitas": {"l": 0, "p": 0},
                                                          "surat_suara": dict.fromkeys(hasil.SURAT_SUARA, 0)}).items()
                       if not k.startswith(("surat_suara.", "disabilitas."))}
    assert not any(k.startswith(("surat_suara", "disabilitas")) for k in v.angka)


@pytest.mark.parametrize("change, kode", [
    ({"administrasi": {"pengguna_dptb_l": 444, "pengguna_dptb_p": 444, "pengguna_dptb_j": 888}}, "MELEBIHI_KAPASITAS"),
    ({"chart": {"100026": 905}}, "MELEBIHI_KAPASITAS"),
    ({"chart": {"100025": 617}}, "MELEBIHI_KAPASITAS"),
    ({"administrasi": {"pengguna_dpt_p": 150}}, "PENGGUNA_DPT_MELEBIHI_DPT"),
    ({"administrasi": {"suara_tidak_sah": 1000}}, "ANGKA_DI_LUAR_RENTANG"),
])
def test_the_2024_misreads_are_rejected_as_the_api_rejects_them(change, kode):
    data = copy.deepcopy(EXAMPLE)
    for part, values in change.items():
        data[part].update(values)
    body = sirekap.baca_tps(data, IDS).body
    v = impor.nilai_impor(body, PASLON)
    assert v.status == "ditolak" and kode in _kode(v.temuan) and v.angka is None
    # the API says the same of the same numbers, whatever ballots and disabled voters it was given
    full = {**body, "disabilitas": {"l": 0, "p": 0},
            "surat_suara": {"diterima": 999, "digunakan": 0, "dikembalikan": 0, "sisa": 0}}
    assert nilai(full, PASLON).status == "ditolak" and kode in _kode(nilai(full, PASLON).temuan)


def test_malformed_values_are_refused_like_the_api_refuses_them():
    body = sirekap.baca_tps({**EXAMPLE, "chart": {"100025": "15", "100026": 182, "100027": True}}, IDS).body
    v = impor.nilai_impor(body, PASLON)
    assert v.malformed and v.status == "ditolak"
    assert {t["fields"][0].rsplit(".value", 1)[0] for t in v.temuan} == {"suara.1", "suara.3"}
    assert {t["kode"] for t in v.temuan} == {"BUKAN_ANGKA"}


def test_a_body_with_every_block_is_judged_by_the_api_function_itself():
    body = {**sirekap.baca_tps(EXAMPLE, IDS).body, "disabilitas": {"l": 1, "p": 0},
            "surat_suara": {"diterima": 272, "digunakan": 239, "dikembalikan": 0, "sisa": 33}}
    assert impor.nilai_impor(body, PASLON) == nilai(body, PASLON)


def test_an_absent_block_without_a_placeholder_is_a_programming_error():
    with pytest.raises(ValueError):
        body = {k: v for k, v in sirekap.baca_tps(EXAMPLE, IDS).body.items() if k != "suara"}
        impor.nilai_impor(body, PASLON, ("suara",) + sirekap.TIDAK_ADA)


box = st.integers(0, 999)
wide = st.integers(0, 1200)


@st.composite
def any_body(draw):
    """Numbers of any kind (rules broken or not); the absent blocks in range and without J."""
    lp = lambda v: {"l": draw(v), "p": draw(v)}  # noqa: E731
    body = {
        "pemilih": {"dpt": lp(box)},
        "pengguna": {"dpt": lp(wide), "dptb": lp(wide), "dpk": lp(box)},
        "disabilitas": lp(box),
        "surat_suara": {s: draw(box) for s in hasil.SURAT_SUARA},
        "suara": {str(n): draw(wide) for n in PASLON},
        "suara_sah": draw(wide), "suara_tidak_sah": draw(box), "suara_total": draw(wide),
    }
    if draw(st.booleans()):
        body["pemilih"]["dpt"]["j"] = draw(box)
        body["pengguna"]["total"] = {**lp(box), "j": draw(box)}
    return body


@settings(max_examples=300, deadline=None)
@given(any_body())
def test_every_rule_run_on_an_import_says_what_the_api_says(body):
    """The import runs exactly the API's rules on the boxes Sirekap reports: for any numbers, its
    findings are the API's findings minus those of the rules that need the absent blocks. (A new
    rule that reads ballots or disabled voters, added to aturan.ATURAN without being listed in
    services.sirekap.PERLU_BLOK, breaks this test.)"""
    api = nilai(body, PASLON)
    stripped = {k: v for k, v in body.items() if k not in sirekap.TIDAK_ADA}
    got = impor.nilai_impor(stripped, PASLON)
    want = [t for t in api.temuan if t["kode"] not in SKIPPED]
    assert got.temuan[:-1] == want and got.temuan[-1]["kode"] == "TIDAK_DILAPORKAN"
    assert got.status == aturan.status([aturan.Temuan(t["kode"], "", "", tolak=t["kode"] in aturan.KODE_TOLAK)
                                        for t in want])
    if got.angka is not None and api.angka is not None:
        assert got.angka == {k: v for k, v in api.angka.items() if not k.startswith(("surat_suara.", "disabilitas."))}


def test_the_skipped_rules_are_exactly_those_that_read_the_absent_blocks():
    assert {r.__name__ for r in impor.PERLU_BLOK} == {
        "disabilitas_melebihi_pengguna", "surat_suara_jumlah", "suara_vs_surat_suara"}
    assert set(impor.PERLU_BLOK) <= set(aturan.ATURAN)


# --- rekap -> Sirekap -> rekap ----------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(form())
def test_a_result_written_in_sirekap_shape_reads_back_the_same(body):
    angka = hasil.ratakan(body)
    out = sirekap.tps_json(angka, PAIRS, ts=datetime(2024, 2, 14, 8, 0, tzinfo=timezone.utc))
    assert out["ts"] == "2024-02-14 15:00:00" and out["chart"]["null"] is None
    back = sirekap.baca_tps(json.loads(json.dumps(out)), IDS)
    assert back.lengkap and back.ts == datetime(2024, 2, 14, 8, 0, tzinfo=timezone.utc)
    v = impor.nilai_impor(back.body, PASLON)
    assert v.status == "diterima"
    assert v.angka == {k: val for k, val in angka.items() if not k.startswith(("surat_suara.", "disabilitas."))}


def test_a_tps_without_result_in_sirekap_shape():
    out = sirekap.tps_json(None, PAIRS, extra={"status": "belum"})
    assert out["chart"] is None and out["administrasi"] is None
    assert out["status_suara"] is False and out["status_adm"] is False and out["images"] == []
    assert out["rekap"] == {"status": "belum"}
    assert sirekap.baca_tps(out, IDS).kurang == ["administrasi", "chart"]


def test_sirekap_paths_and_region_lists():
    assert sirekap.jalur_hasil("ppwp", "0") == "pemilu/hhcw/ppwp.json"
    assert sirekap.jalur_hasil("ppwp", "35") == "pemilu/hhcw/ppwp/35.json"
    assert sirekap.jalur_hasil("ppwp", "3517") == "pemilu/hhcw/ppwp/35/3517.json"
    assert (sirekap.jalur_hasil("ppwp", "3517142001001")
            == "pemilu/hhcw/ppwp/35/3517/351714/3517142001/3517142001001.json")
    assert sirekap.jalur_wilayah("ppwp", "0") == "wilayah/pemilu/ppwp/0.json"
    assert sirekap.jalur_wilayah("ppwp", "3517") == "wilayah/pemilu/ppwp/35/3517.json"
    assert sirekap.daftar_wilayah([("351714", "PLOSO"), ("3517142001001", "TPS 001")]) == [
        {"nama": "PLOSO", "id": 351714, "kode": "351714", "tingkat": 3},
        {"nama": "TPS 001", "id": 3517142001001, "kode": "3517142001001", "tingkat": 5}]


# --- the fixtures, file by file ---------------------------------------------------


def test_the_tree_walk_takes_tps_files_and_skips_aggregates_and_lists(tmp_path):
    files = list(impor.berkas_tps([FIXTURES]))
    tps = [p.name for p, _ in files if p is not None]
    assert tps == sorted(tps) and len(tps) == 14
    assert sum(skip for p, skip in files if p is None) == 4  # two aggregates, a region list, harapan.json
    loose = tmp_path / "x.json"
    loose.write_text("{}")
    assert list(impor.berkas_tps([loose])) == [(loose, 0)]
    assert impor.kontes_dari_jalur(FIXTURES / "pemilu/hhcw/ppwp/35/3517.json") == "ppwp"
    assert impor.kontes_dari_jalur(FIXTURES / "pemilu/hhcw/pkwkp/35/3517/x.json") == "pkwkp"
    assert impor.kontes_dari_jalur(loose) is None


HARAPAN = json.loads((FIXTURES / "harapan.json").read_text())


@pytest.mark.parametrize("name", sorted(n for n in HARAPAN if n.startswith("3517142001")))
def test_each_fixture_is_judged_as_documented(name):
    path = FIXTURES / "pemilu/hhcw/ppwp/35/3517/351714/3517142001" / name
    want = HARAPAN[name]
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError:
        assert want["kode"] == ["BERKAS_TIDAK_VALID"]
        return
    got = impor.putusan(data, IDS, PASLON)
    assert got.keputusan == want["keputusan"], got.temuan
    assert set(want["kode"]) <= set(_kode(got.temuan)), got.temuan
    for t in got.temuan:
        assert t["pesan"] and t["message"] and isinstance(t["fields"], list)
