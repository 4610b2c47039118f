"""The Idempotency-Key's fingerprint (hasil.isian_sha256) is the standard json's canonical
text whichever encoder writes it: a key stored before an upgrade must match its retry."""

import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from services.intake.hasil import isian_sha256
from tests.strategies import form

JENIS = st.sampled_from(["kirim", "koreksi", "psu"])


def _standard(isian: dict, alasan: str | None, jenis: str) -> str:
    entry = {"isian": isian, "alasan": alasan, "jenis": jenis}
    return hashlib.sha256(json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _reversed(value):
    """The same body with every object's keys in the opposite order."""
    if isinstance(value, dict):
        return {k: _reversed(v) for k, v in reversed(value.items())}
    return value


@given(form(), JENIS)
def test_a_body_without_alasan_has_the_standard_fingerprint_in_any_key_order(isian, jenis):
    assert isian_sha256(isian, None, jenis) == _standard(isian, None, jenis)
    assert isian_sha256(_reversed(isian), None, jenis) == isian_sha256(isian, None, jenis)


@given(form(), st.text(min_size=1), JENIS)
def test_a_body_with_an_alasan_has_the_standard_fingerprint(isian, alasan, jenis):
    assert isian_sha256(isian, alasan, jenis) == _standard(isian, alasan, jenis)


def test_the_fingerprint_tells_bodies_and_kinds_apart():
    body = {"suara": {"1": 15, "2": 182}, "suara_sah": 197}
    other = {"suara": {"1": 15, "2": 181}, "suara_sah": 197}
    assert isian_sha256(body, None, "kirim") != isian_sha256(other, None, "kirim")
    assert isian_sha256(body, None, "kirim") != isian_sha256(body, None, "psu")
    assert isian_sha256(body, "BA pleno 1", "koreksi") != isian_sha256(body, "BA pleno 2", "koreksi")
