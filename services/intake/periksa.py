"""Checking a C.Hasil body: marshmallow for its shape, then every rule of
shared.domain.aturan. One function, so the API and the Sirekap import judge
a result exactly alike."""

from dataclasses import dataclass

from marshmallow import ValidationError

from shared.domain import aturan, hasil
from services.intake.fastload import compile_load
from services.intake.schemas import CHasil, temuan_dari_error

_schema = CHasil()
_fast = compile_load(_schema)  # marshmallow's answer for well-formed bodies, at a tenth of the cost


@dataclass
class Penilaian:
    """The verdict on one body: `status` is diterima, perlu_periksa or ditolak."""

    status: str
    temuan: list[dict]
    angka: dict | None  # the counted boxes, None when the body is malformed or rejected
    malformed: bool = False  # the body's shape was wrong (no rule was checked)


def nilai(body: dict, paslon: list[int]) -> Penilaian:
    isian = _fast(body)
    if isian is None:  # malformed, or beyond what fastload vouches for: marshmallow decides
        try:
            isian = _schema.load(body)
        except ValidationError as exc:
            return Penilaian("ditolak", temuan_dari_error(exc.messages), None, malformed=True)
    found = aturan.periksa(isian, paslon)
    status = aturan.status(found)
    angka = hasil.ratakan(isian) if status != "ditolak" else None
    return Penilaian(status, [t.as_dict() for t in found], angka)
