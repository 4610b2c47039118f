"""Summing: any order or grouping of the same results gives the same totals."""


from hypothesis import given, strategies as st

from shared.domain.hasil import ratakan, susun
from shared.domain.rekap import Rekap, jumlahkan, persen
from tests.strategies import PASLON, form


def _plain_sum(forms):
    totals = {}
    for f in forms:
        for key, value in ratakan(f).items():
            totals[key] = totals.get(key, 0) + value
    return totals


@given(st.lists(form(), max_size=25), st.randoms(use_true_random=False))
def test_any_order_and_grouping_gives_the_same_totals(forms, rnd):
    leaves = [Rekap.dari_hasil(ratakan(f), "diterima") for f in forms]
    flat = jumlahkan(leaves)
    shuffled = leaves[:]
    rnd.shuffle(shuffled)
    # Random grouping into "desa", then "kecamatan", like the real hierarchy.
    groups, i = [], 0
    while i < len(shuffled):
        n = rnd.randint(1, 5)
        groups.append(jumlahkan(shuffled[i:i + n]))
        i += n
    nested = jumlahkan(jumlahkan(groups[j:j + 3]) for j in range(0, len(groups), 3))
    assert {k: v for k, v in nested.angka.items() if v} == {k: v for k, v in flat.angka.items() if v}
    assert {k: v for k, v in flat.angka.items() if v} == {k: v for k, v in _plain_sum(forms).items() if v}
    assert nested.tps_masuk == flat.tps_masuk == len(forms)


@given(st.lists(st.tuples(form(), st.sampled_from(["diterima", "perlu_periksa"])), max_size=20))
def test_progress_and_flag_counts_add_up(items):
    total = jumlahkan([Rekap.dari_hasil(ratakan(f), s) for f, s in items], tps_total=40)
    assert total.tps_masuk == len(items)
    assert total.tps_perlu_periksa == sum(s == "perlu_periksa" for _, s in items)
    assert total.tps_total == 40


def test_nested_shape_recomputes_derived_boxes():
    body = {"pemilih": {"dpt": {"l": 10, "p": 12}},
            "pengguna": {"dpt": {"l": 5, "p": 6}, "dptb": {"l": 1, "p": 0}, "dpk": {"l": 0, "p": 2}},
            "disabilitas": {"l": 1, "p": 0},
            "surat_suara": {"diterima": 23, "digunakan": 14, "dikembalikan": 0, "sisa": 9},
            "suara": {"1": 4, "2": 8, "3": 1}, "suara_sah": 13, "suara_tidak_sah": 1, "suara_total": 14}
    shaped = susun(ratakan(body), PASLON)
    assert shaped["pemilih"]["dpt"] == {"l": 10, "p": 12, "j": 22}
    assert shaped["pengguna"]["total"] == {"l": 6, "p": 8, "j": 14}
    assert shaped["suara"] == {"1": 4, "2": 8, "3": 1}


def test_empty_sum_is_zero_and_percent_of_nothing_is_zero():
    assert jumlahkan([]).angka == {}
    assert persen(0, 0) == 0.0
    assert persen(1, 3) == 33.33
