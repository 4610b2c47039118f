"""Hypothesis strategies: consistent C.Hasil forms, the ground the rule tests break."""

from hypothesis import strategies as st

from shared.domain.hasil import kapasitas

PASLON = [1, 2, 3]


def _split(draw, total: int, parts: int) -> list[int]:
    """`total` split into `parts` non-negative whole numbers."""
    cuts = sorted(draw(st.lists(st.integers(0, total), min_size=parts - 1, max_size=parts - 1)))
    bounds = [0, *cuts, total]
    return [bounds[i + 1] - bounds[i] for i in range(parts)]


@st.composite
def form(draw, paslon=PASLON, with_j: bool | None = None) -> dict:
    """A C.Hasil that obeys every rule of domain.md."""
    dpt_l, dpt_p = draw(st.integers(0, 300)), draw(st.integers(0, 300))
    cap = kapasitas(dpt_l + dpt_p)
    used = {"l": draw(st.integers(0, dpt_l)), "p": draw(st.integers(0, dpt_p))}
    room = min(cap - used["l"] - used["p"], 999)
    extra = _split(draw, draw(st.integers(0, max(0, min(room, 20)))), 4)
    pengguna = {"dpt": used, "dptb": {"l": extra[0], "p": extra[1]}, "dpk": {"l": extra[2], "p": extra[3]}}
    total_l = used["l"] + extra[0] + extra[2]
    total_p = used["p"] + extra[1] + extra[3]
    total = total_l + total_p
    tidak_sah = draw(st.integers(0, total))
    sah = total - tidak_sah
    votes = _split(draw, sah, len(paslon))
    dikembalikan = draw(st.integers(0, min(10, 999)))
    sisa = draw(st.integers(0, 999 - total - dikembalikan)) if total + dikembalikan <= 999 else 0
    body = {
        "pemilih": {"dpt": {"l": dpt_l, "p": dpt_p}},
        "pengguna": pengguna,
        "disabilitas": {"l": draw(st.integers(0, total_l)), "p": draw(st.integers(0, total_p))},
        "surat_suara": {"diterima": total + dikembalikan + sisa, "digunakan": total,
                        "dikembalikan": dikembalikan, "sisa": sisa},
        "suara": {str(n): v for n, v in zip(paslon, votes)},
        "suara_sah": sah, "suara_tidak_sah": tidak_sah, "suara_total": total,
    }
    if with_j if with_j is not None else draw(st.booleans()):
        for block in (body["pemilih"]["dpt"], *pengguna.values(), body["disabilitas"]):
            block["j"] = block["l"] + block["p"]
        body["pengguna"]["total"] = {"l": total_l, "p": total_p, "j": total}
    return body
