"""Every rule of domain.md fires on a form built to break it and stays silent on a consistent one."""

import copy

import pytest
from hypothesis import assume, given

from shared.domain import aturan
from shared.domain.hasil import kapasitas
from tests.strategies import PASLON, form


def codes(body, paslon=PASLON):
    return {t.kode for t in aturan.periksa(body, paslon)}


@given(form())
def test_a_consistent_form_has_no_finding(body):
    assert aturan.periksa(body, PASLON) == []
    assert aturan.status([]) == "diterima"


def _total(body, jk):
    return sum(body["pengguna"][j][jk] for j in ("dpt", "dptb", "dpk"))


# (rule code, breaker): each breaker returns False when this form cannot be broken that way.
def box_above_999(b):
    b["surat_suara"]["sisa"] = 1000


def wrong_paslon(b):
    b["suara"]["4"] = 0


def more_dpt_voters_than_dpt(b):
    if b["pemilih"]["dpt"]["l"] >= 999:
        return False
    b["pengguna"]["dpt"]["l"] = b["pemilih"]["dpt"]["l"] + 1


def misread_888_dptb(b):  # the 2024 misread: 888 DPTb voters at a TPS of about 250
    if kapasitas(b["pemilih"]["dpt"]["l"] + b["pemilih"]["dpt"]["p"]) >= 888:
        return False
    b["pengguna"]["dptb"]["l"] = 888


def votes_105_read_as_905(b):
    if kapasitas(b["pemilih"]["dpt"]["l"] + b["pemilih"]["dpt"]["p"]) >= 905:
        return False
    b["suara"]["2"] = 905


def more_disabled_than_voters(b):
    if _total(b, "l") >= 999:
        return False
    b["disabilitas"]["l"] = _total(b, "l") + 1


def j_not_l_plus_p(b):
    dpt = b["pemilih"]["dpt"]
    dpt["j"] = dpt["l"] + dpt["p"] + 1
    if dpt["j"] > 999:
        return False


def b4_not_sum(b):
    b["pengguna"]["total"] = {"l": _total(b, "l") + 1, "p": _total(b, "p")}
    if _total(b, "l") + 1 > 999:
        return False


def sah_not_sum_of_votes(b):
    if b["suara_sah"] + 1 > kapasitas(b["pemilih"]["dpt"]["l"] + b["pemilih"]["dpt"]["p"]):
        return False  # would be an impossibility, not a slip
    b["suara_sah"] += 1


def total_not_sah_plus_tidak_sah(b):
    if b["suara_total"] == 0:
        return False
    b["suara_total"] -= 1


def ballots_do_not_add_up(b):
    if b["surat_suara"]["diterima"] >= 999:
        return False
    b["surat_suara"]["diterima"] += 1


def ballots_used_not_votes(b):
    ss = b["surat_suara"]
    if ss["diterima"] >= 999:
        return False
    ss["digunakan"] += 1
    ss["diterima"] += 1


def voters_not_votes(b):
    dpt_j = b["pemilih"]["dpt"]["l"] + b["pemilih"]["dpt"]["p"]
    if _total(b, "l") + _total(b, "p") + 1 > kapasitas(dpt_j):
        return False
    b["pengguna"]["dpk"]["l"] += 1
    b["pengguna"].pop("total", None)
    b["pengguna"]["dpk"].pop("j", None)


BREAKERS = [
    ("ANGKA_DI_LUAR_RENTANG", box_above_999),
    ("PASLON_TIDAK_SESUAI", wrong_paslon),
    ("PENGGUNA_DPT_MELEBIHI_DPT", more_dpt_voters_than_dpt),
    ("MELEBIHI_KAPASITAS", misread_888_dptb),
    ("MELEBIHI_KAPASITAS", votes_105_read_as_905),
    ("DISABILITAS_MELEBIHI_PENGGUNA", more_disabled_than_voters),
    ("JUMLAH_LP_TIDAK_SESUAI", j_not_l_plus_p),
    ("PENGGUNA_TOTAL_TIDAK_SESUAI", b4_not_sum),
    ("SUARA_SAH_TIDAK_SESUAI", sah_not_sum_of_votes),
    ("SUARA_TOTAL_TIDAK_SESUAI", total_not_sah_plus_tidak_sah),
    ("SURAT_SUARA_TIDAK_SESUAI", ballots_do_not_add_up),
    ("SURAT_SUARA_DIGUNAKAN_TIDAK_SESUAI", ballots_used_not_votes),
    ("PENGGUNA_TIDAK_SESUAI_SUARA", voters_not_votes),
]


def test_every_rule_has_a_breaker():
    rule_codes = {code for code, _ in BREAKERS}
    assert rule_codes == {"ANGKA_DI_LUAR_RENTANG", "PASLON_TIDAK_SESUAI", "PENGGUNA_DPT_MELEBIHI_DPT",
                          "MELEBIHI_KAPASITAS", "DISABILITAS_MELEBIHI_PENGGUNA", "JUMLAH_LP_TIDAK_SESUAI",
                          "PENGGUNA_TOTAL_TIDAK_SESUAI", "SUARA_SAH_TIDAK_SESUAI", "SUARA_TOTAL_TIDAK_SESUAI",
                          "SURAT_SUARA_TIDAK_SESUAI", "SURAT_SUARA_DIGUNAKAN_TIDAK_SESUAI",
                          "PENGGUNA_TIDAK_SESUAI_SUARA"}
    assert aturan.KODE_TOLAK < rule_codes


@pytest.mark.parametrize("kode,breaker", BREAKERS, ids=[b.__name__ for _, b in BREAKERS])
@given(body=form())
def test_rule_fires_on_a_form_built_to_break_it(kode, breaker, body):
    broken = copy.deepcopy(body)
    assume(breaker(broken) is not False)
    found = aturan.periksa(broken, PASLON)
    assert kode in {t.kode for t in found}
    expected = "ditolak" if kode in aturan.KODE_TOLAK else "perlu_periksa"
    if expected == "perlu_periksa":
        # An honest slip of the pen is only flagged, never rejected.
        assert not any(t.tolak for t in found), found
    assert aturan.status(found) == expected
    for t in found:
        assert t.pesan and t.message and t.fields


def test_messages_name_the_boxes_to_fix():
    body = {"pemilih": {"dpt": {"l": 123, "p": 143}},
            "pengguna": {"dpt": {"l": 108, "p": 130}, "dptb": {"l": 888, "p": 1}, "dpk": {"l": 0, "p": 0}},
            "disabilitas": {"l": 0, "p": 0},
            "surat_suara": {"diterima": 272, "digunakan": 239, "dikembalikan": 0, "sisa": 33},
            "suara": {"1": 15, "2": 182, "3": 36}, "suara_sah": 233, "suara_tidak_sah": 6, "suara_total": 239}
    [over] = [t for t in aturan.periksa(body, PASLON) if t.kode == "MELEBIHI_KAPASITAS"]
    assert "I.B.2" in over.pesan and "888" in over.pesan and "272" in over.pesan
    assert "pengguna.dptb.j" in over.fields
    assert over.as_dict()["message"].startswith("More than the ballots")
