"""The pictures themselves, apart from HTTP and storage (services.intake.foto uses
them): what format the bytes are, what the EXIF says, a difference hash to
find the same picture saved again, and the public copy with every metadata
segment removed while the pixels stay as sent.
"""

from __future__ import annotations

import math
import struct
import warnings

from PIL import Image


# --- reading the bytes ----------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """The image format by its magic number: JPEG, PNG, WEBP, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _angka(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _derajat(dms, ref) -> float | None:
    """EXIF degrees/minutes/seconds and N/S/E/W into signed decimal degrees."""
    if not isinstance(dms, tuple) or len(dms) != 3:
        return None
    parts = [_angka(v) for v in dms]
    if any(p is None for p in parts):
        return None
    value = parts[0] + parts[1] / 60 + parts[2] / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return round(-value if str(ref).strip().upper() in ("S", "W") else value, 7)


def _teks(value, limit: int = 100) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:limit] or None


def metadata(img: Image.Image) -> tuple[dict, int]:
    """What the EXIF says (location, time taken, device) for the row, and the orientation (1..8).
    Best effort: a photo whose EXIF cannot be read is still a photo, with no metadata."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data": we say so by returning nothing
            return _metadata(img)
    except Exception:  # noqa: BLE001 - Pillow raises many kinds on a broken EXIF block
        return {}, 1


def _metadata(img: Image.Image) -> tuple[dict, int]:
    exif = img.getexif()
    out: dict = {}
    gps = exif.get_ifd(0x8825)
    lat, lon = _derajat(gps.get(2), gps.get(1)), _derajat(gps.get(4), gps.get(3))
    if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
        out["lokasi"] = {"lat": lat, "lon": lon}
        alt = _angka(gps.get(6))
        if alt is not None:
            out["lokasi"]["alt"] = round(-alt if gps.get(5) in (1, b"\x01") else alt, 2)
    waktu = _teks(exif.get_ifd(0x8769).get(0x9003)) or _teks(exif.get(0x0132))
    if waktu:
        out["waktu"] = waktu
    perangkat = " ".join(t for t in (_teks(exif.get(0x010F)), _teks(exif.get(0x0110))) if t)
    if perangkat:
        out["perangkat"] = perangkat
    orientation = exif.get(0x0112)
    orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1
    if orientation != 1:
        out["orientasi"] = orientation
    return out, orientation


def dhash(img: Image.Image) -> int | None:
    """A 64-bit difference hash (as a signed bigint), None for a picture too plain to tell apart."""
    img.draft("L", (64, 64))  # JPEG: decode at 1/8 scale, fast
    small = img.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    px = small.tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (px[row * 9 + col] > px[row * 9 + col + 1])
    if not 8 <= bin(bits).count("1") <= 56:
        return None
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def pita(dh: int | None) -> tuple[int, int, int, int] | tuple[None, None, None, None]:
    """The four 16-bit bands of a difference hash, high first (as the database indexes them)."""
    if dh is None:
        return None, None, None, None
    u = dh & ((1 << 64) - 1)
    return (u >> 48) & 0xFFFF, (u >> 32) & 0xFFFF, (u >> 16) & 0xFFFF, u & 0xFFFF


def jarak(a: int, b: int) -> int:
    """Bits in which two difference hashes differ."""
    return bin((a ^ b) & ((1 << 64) - 1)).count("1")


# --- the public copy: metadata removed, pixels untouched -----------------------

# JPEG markers kept: SOFn, DHT, DQT, DRI, SOS, APP0 (JFIF), APP2 only for an ICC profile,
# APP14 (Adobe: colour transform). Dropped: APP1 (EXIF, XMP), APP3..APP13 (IPTC, MPF...),
# APP15, COM, and anything after the end of the first image (MPF second images, trailers).
_JPEG_APP_KEEP = {0xE0, 0xEE}


def _jpeg_bersih(data: bytes, orientation: int) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise ValueError("no SOI")
    out = [b"\xff\xd8"]
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        payload = exif.tobytes()
        out.append(b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload)
    i, n = 2, len(data)
    while i < n:
        if data[i] != 0xFF:
            raise ValueError(f"no marker at {i}")
        while i < n and data[i] == 0xFF:
            i += 1
        if i >= n:
            break
        marker = data[i]
        i += 1
        if marker == 0xD9:  # EOI: the image ends; nothing after it is kept
            out.append(b"\xff\xd9")
            return b"".join(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(bytes((0xFF, marker)))
            continue
        if i + 2 > n:
            raise ValueError("truncated segment")
        length = struct.unpack(">H", data[i:i + 2])[0]
        segment = data[i:i + length]
        if length < 2 or len(segment) != length:
            raise ValueError("truncated segment")
        i += length
        keep = not (0xE0 <= marker <= 0xEF or marker == 0xFE) or marker in _JPEG_APP_KEEP or (
            marker == 0xE2 and segment[2:14] == b"ICC_PROFILE\x00")
        if keep:
            out.append(bytes((0xFF, marker)) + segment)
        if marker == 0xDA:  # SOS: entropy-coded data up to the next real marker
            j = i
            while True:
                j = data.find(b"\xff", j)
                if j < 0 or j + 1 >= n:
                    raise ValueError("scan without end")
                nxt = data[j + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    j += 1 if nxt == 0xFF else 2
                    continue
                break
            out.append(data[i:j])
            i = j
    raise ValueError("no EOI")


# PNG chunks kept: the image and how to show it. Text (tEXt, zTXt, iTXt: XMP lives there),
# eXIf, tIME and anything unknown are dropped, as is anything after IEND.
_PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
             b"pHYs", b"bKGD", b"cICP", b"acTL", b"fcTL", b"fdAT"}


def _png_bersih(data: bytes) -> bytes:
    out, i = [data[:8]], 8
    while i + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[i:i + 8])
        end = i + 12 + length
        if end > len(data):
            raise ValueError("truncated chunk")
        if kind in _PNG_KEEP:
            out.append(data[i:end])
        i = end
        if kind == b"IEND":
            return b"".join(out)
    raise ValueError("no IEND")


# WebP chunks kept: the bitstreams, alpha, animation and the ICC profile; EXIF and XMP dropped
# (and their flags cleared in VP8X).
_WEBP_KEEP = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}


def _webp_bersih(data: bytes) -> bytes:
    size = struct.unpack("<I", data[4:8])[0]
    end = min(len(data), 8 + size)
    chunks, i = [], 12
    while i + 8 <= end:
        kind, length = struct.unpack("<4sI", data[i:i + 8])
        stop = i + 8 + length + (length & 1)
        if i + 8 + length > end:
            raise ValueError("truncated chunk")
        chunk = data[i:min(stop, end)]
        if kind == b"VP8X":
            chunk = chunk[:8] + bytes((chunk[8] & ~0x0C,)) + chunk[9:]
        if kind in _WEBP_KEEP:
            chunks.append(chunk + (b"\x00" if len(chunk) % 2 else b""))
        i = stop
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def bersihkan(data: bytes, fmt: str, orientation: int = 1) -> bytes:
    """The public copy of a photo: the same image, every metadata segment removed."""
    if fmt == "JPEG":
        return _jpeg_bersih(data, orientation)
    if fmt == "PNG":
        return _png_bersih(data)
    if fmt == "WEBP":
        return _webp_bersih(data)
    raise ValueError(fmt)
