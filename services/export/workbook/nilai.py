"""Cell values: text Excel accepts, times as naive UTC, shares without division errors."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


def teks(nilai: Any) -> Any:
    """Text safe for a cell (control characters dropped)."""
    if isinstance(nilai, str):
        return ILLEGAL_CHARACTERS_RE.sub("", nilai)
    return nilai


def waktu_utc(nilai: Any) -> Any:
    """A datetime (or ISO string) as a naive UTC datetime, which Excel can hold."""
    if isinstance(nilai, str):
        try:
            nilai = datetime.fromisoformat(nilai)
        except ValueError:
            return teks(nilai)
    if isinstance(nilai, datetime) and nilai.tzinfo is not None:
        nilai = nilai.astimezone(timezone.utc).replace(tzinfo=None)
    return nilai


def bagi(a, b) -> float:
    """a / b as a share (Excel formats it as %); 0 when either is 0."""
    return a / b if a and b else 0.0
