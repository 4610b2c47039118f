import pytest

from shared.domain import wilayah as w


@pytest.mark.parametrize("kode,tingkat,induk", [
    ("0", "nasional", None), ("35", "provinsi", "0"), ("3517", "kabupaten", "35"),
    ("351714", "kecamatan", "3517"), ("3517142001", "desa", "351714"),
    ("3517142001001", "tps", "3517142001"),
])
def test_level_and_parent_by_prefix(kode, tingkat, induk):
    assert w.tingkat(kode) == tingkat
    assert w.induk(kode) == induk


@pytest.mark.parametrize("bad", ["", "3", "351", "35171420010", "35a7", "35171420010011"])
def test_codes_of_no_level_are_refused(bad):
    with pytest.raises(ValueError):
        w.tingkat(bad)


def test_ancestors_up_to_the_nation():
    assert w.leluhur("3517142001001") == ["3517142001", "351714", "3517", "35", "0"]


def test_tps_numbers_regular_and_special():
    assert w.nomor_tps(3, "") == [1, 2, 3]
    assert w.nomor_tps(2, "901") == [1, 2, 901]
    assert w.nomor_tps(1, "901-903") == [1, 901, 902, 903]
    assert w.kode_tps("3517142001", 901) == "3517142001901"
    assert w.nama_tps(7) == "TPS 007"


def test_scope_is_a_prefix():
    assert w.di_dalam("3517142001001", "3517")
    assert w.di_dalam("3517", "3517")
    assert not w.di_dalam("3518010001001", "3517")
    assert w.di_dalam("1101012001001", w.NASIONAL)
