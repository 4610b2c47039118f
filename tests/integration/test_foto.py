"""C.Hasil photos: content checks, metadata removed from the public copy but kept
for staff, content-addressed storage, re-used photos flagged, size limits per
endpoint, roles. The first part needs no server; the rest runs on the real stack."""

import hashlib
import io
import json
import random
import socket
import struct
import uuid

import pytest
import requests
from PIL import Image, ImageCms
from sqlalchemy import text

from shared import settings, sintetis
from shared.db.engine import engine
from shared.web import Problem
from services.intake import foto
from services.intake.gambar import jarak, pita, sniff
from tests.integration.conftest import simpan

PASLON = [1, 2, 3]


def gambar(seed=None, size=(480, 360), block=24) -> Image.Image:
    """A picture of coloured blocks: distinct per seed, with edges a difference hash can see."""
    rnd = random.Random(seed if seed is not None else uuid.uuid4().int)
    img = Image.new("RGB", size, "white")
    for x in range(0, size[0], block):
        for y in range(0, size[1], block):
            img.paste(tuple(rnd.randrange(256) for _ in range(3)), (x, y, x + block, y + block))
    return img


def exif_lokasi(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Samsung", "SM-A145F"
    if orientation != 1:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "S", (7.0, 33.0, 12.5)
    gps[3], gps[4] = "E", (112.0, 14.0, 3.0)
    gps[5], gps[6] = 0, 45.5
    exif.get_ifd(0x8769)[0x9003] = "2024:02:14 13:05:00"
    return exif


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>7,33.2S</exif:GPSLatitude></x:xmpmeta>'


def foto_jpeg(seed=None, **kwargs) -> bytes:
    return simpan(gambar(seed), "JPEG", exif=exif_lokasi(), xmp=XMP, quality=90, **kwargs)


def pixels(data: bytes) -> bytes:
    return Image.open(io.BytesIO(data)).convert("RGBA").tobytes()


# --- pure: content, metadata, the public copy --------------------------------------


def test_formats_are_known_by_their_bytes():
    img = gambar(1)
    assert sniff(simpan(img, "JPEG")) == "JPEG"
    assert sniff(simpan(img, "PNG")) == "PNG"
    assert sniff(simpan(img, "WEBP")) == "WEBP"
    assert sniff(simpan(img, "GIF")) is None
    assert sniff(b"%PDF-1.7 ...") is None and sniff(b"") is None


@pytest.mark.parametrize("fmt, kwargs", [
    ("JPEG", {"quality": 90}), ("JPEG", {"progressive": True, "quality": 80}),
    ("PNG", {}), ("WEBP", {"quality": 80}), ("WEBP", {"lossless": True}),
])
def test_the_public_copy_has_the_same_pixels_and_no_metadata(fmt, kwargs):
    if fmt == "PNG":
        from PIL import PngImagePlugin

        kwargs = {**kwargs, "pnginfo": PngImagePlugin.PngInfo()}
        kwargs["pnginfo"].add_itxt("XML:com.adobe.xmp", XMP.decode())
    data = simpan(gambar(2), fmt, exif=exif_lokasi(), xmp=XMP, **kwargs)
    assert b"GPSLatitude" in data and b"Samsung" in data
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    checked = foto.periksa_foto(data)
    public = checked["publik"]
    assert b"GPSLatitude" not in public and b"Samsung" not in public and b"xmpmeta" not in public
    assert not Image.open(io.BytesIO(public)).getexif()
    assert pixels(public) == pixels(data)
    assert checked["exif"] == {"lokasi": {"lat": -7.5534722, "lon": 112.2341667, "alt": 45.5},
                               "waktu": "2024:02:14 13:05:00", "perangkat": "Samsung SM-A145F"}
    assert checked["jenis"] == {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}[fmt]
    assert checked["sha256"] == hashlib.sha256(data).hexdigest()


def test_jpeg_keeps_orientation_and_colour_profile_and_drops_what_follows_the_image():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = simpan(gambar(3), "JPEG", exif=exif_lokasi(orientation=6), icc_profile=icc, quality=85)
    # a phone's second image (MPF) or any trailer after the end of the first image, with its own EXIF
    data += simpan(gambar(4, (64, 48)), "JPEG", exif=exif_lokasi()) + b"trailing secrets"
    data = data[:2] + b"\xff\xfe\x00\x10KPPS Ploso 001" + data[2:]  # a COM segment
    checked = foto.periksa_foto(data)
    public = Image.open(io.BytesIO(checked["publik"]))
    assert dict(public.getexif()) == {0x0112: 6} and checked["exif"]["orientasi"] == 6
    assert public.info.get("icc_profile") == icc
    assert b"trailing secrets" not in checked["publik"] and b"KPPS Ploso" not in checked["publik"]
    assert checked["publik"].endswith(b"\xff\xd9") and checked["publik"].count(b"Samsung") == 0


def test_a_phone_jpeg_with_more_pictures_inside_keeps_only_the_first():
    data = simpan(gambar(11), "MPO", save_all=True, append_images=[gambar(12)], exif=exif_lokasi())
    assert Image.open(io.BytesIO(data)).format == "MPO"
    checked = foto.periksa_foto(data)
    public = Image.open(io.BytesIO(checked["publik"]))
    assert public.format == "JPEG" and getattr(public, "n_frames", 1) == 1 and not public.getexif()
    assert checked["jenis"] == "image/jpeg" and checked["exif"]["perangkat"] == "Samsung SM-A145F"
    assert pixels(checked["publik"]) == Image.open(io.BytesIO(data)).convert("RGBA").tobytes()


def test_a_broken_exif_block_is_no_reason_to_refuse_the_photo():
    data = simpan(gambar(13), "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff garbage")
    checked = foto.periksa_foto(data)
    assert checked["exif"] == {} and b"garbage" not in checked["publik"]


def test_png_text_chunks_are_dropped():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "lokasi TPS -7.55,112.23")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    data = simpan(gambar(5), "PNG", pnginfo=info, exif=exif_lokasi()) + b"after IEND"
    public = foto.periksa_foto(data)["publik"]
    assert b"lokasi TPS" not in public and b"xmpmeta" not in public and b"after IEND" not in public
    assert Image.open(io.BytesIO(public)).text == {}


def _problem(data: bytes) -> Problem:
    with pytest.raises(Problem) as caught:
        foto.periksa_foto(data)
    return caught.value


def test_content_not_names_decide():
    assert _problem(b"this is not a photo, whatever its name says").status == 415
    assert _problem(simpan(gambar(6), "GIF")).status == 415
    assert _problem(simpan(gambar(6), "BMP")).status == 415
    truncated = foto_jpeg(7)[:3000]
    bad = _problem(truncated)
    assert bad.status == 422 and bad.kode == "FOTO_RUSAK"
    png = simpan(gambar(8), "PNG")
    assert _problem(png[:40]).status == 422


def test_a_small_file_claiming_a_huge_picture_is_refused():
    png = simpan(Image.new("L", (10, 10)), "PNG")
    # rewrite IHDR to 20000 x 20000 (with its CRC): 400 megapixels in a few bytes
    import zlib

    ihdr = b"IHDR" + struct.pack(">II", 20000, 20000) + png[24:29]
    bomb = png[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:]
    problem = _problem(bomb)
    assert problem.status == 413 and problem.kode == "FOTO_TERLALU_BESAR"


def test_the_same_picture_saved_again_has_the_same_difference_hash():
    img = gambar(9, (800, 600), block=100)
    a = foto.periksa_foto(simpan(img, "JPEG", quality=95))
    b = foto.periksa_foto(simpan(img.resize((400, 300)), "JPEG", quality=60))
    c = foto.periksa_foto(simpan(gambar(10, (800, 600), block=100), "JPEG", quality=95))
    assert a["dhash"] is not None and jarak(a["dhash"], b["dhash"]) <= foto.MIRIP_BIT
    assert jarak(a["dhash"], c["dhash"]) > 3 * foto.MIRIP_BIT
    assert jarak(-1, 0) == 64 and pita(-1) == (65535,) * 4 and pita(None) == (None,) * 4
    assert a["sha256"] != b["sha256"]
    assert foto.periksa_foto(simpan(Image.new("RGB", (300, 200), "white"), "PNG"))["dhash"] is None


# --- on the real stack ---------------------------------------------------------------


def upload(stack, raw, kode_tps, data, halaman=1, kontes="ppwp", filename="c-hasil.jpg",
           content_type="image/jpeg", **extra) -> requests.Response:
    headers = {"Authorization": f"Bearer {raw}"} if raw else {}
    form = {"halaman": str(halaman)} if halaman is not None else {}
    # without a file, still multipart: the page number as a part of its own
    files = {"berkas": (filename, data, content_type)} if data is not None else {"halaman": (None, str(halaman))}
    if data is None:
        form = {}
    return requests.post(f"{stack.intake_url}/api/v1/hasil/{kontes}/{kode_tps}/foto", data=form, files=files,
                         headers=headers, timeout=30, **extra)


def listing(stack, raw, kode_tps) -> requests.Response:
    return requests.get(f"{stack.intake_url}/api/v1/hasil/ppwp/{kode_tps}/foto",
                        headers={"Authorization": f"Bearer {raw}"}, timeout=30)


def problem(resp: requests.Response, status: int, kode: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    body = resp.json()
    assert body["pesan"] and body["message"] and body["pesan"] != body["message"]
    if kode:
        assert body["kode"] == kode, body
    return body


def test_upload_stores_original_and_public_copy_linked_to_the_result(stack, issue, tps_pool):
    _, tps = tps_pool()
    kode = tps[0]
    kpps = issue("kpps", kode)
    data = foto_jpeg()
    first = upload(stack, kpps, kode, data, halaman=1)
    assert first.status_code == 201, first.text
    ans = first.json()
    sha = hashlib.sha256(data).hexdigest()
    assert ans["sha256"] == sha and ans["halaman"] == 1 and ans["jenis"] == "image/jpeg"
    assert ans["versi"] is None and ans["tanda"] == [] and ans["oleh"].startswith("kpps:" + kode)
    assert ans["exif"]["lokasi"] == {"lat": -7.5534722, "lon": 112.2341667, "alt": 45.5}
    assert ans["url"] == f"/api/v1/hasil/ppwp/{kode}/foto/{sha}"

    data_dir = settings.load().data_dir / "foto"
    original = (data_dir / "asli" / sha[:2] / sha).read_bytes()
    public_file = (data_dir / "publik" / sha[:2] / sha).read_bytes()
    assert original == data and b"GPSLatitude" in original
    assert b"GPSLatitude" not in public_file and pixels(public_file) == pixels(data)

    served = requests.get(stack.intake_url + ans["url"], timeout=30)  # public: no token
    assert served.status_code == 200 and served.content == public_file
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["ETag"].strip('"') == sha and "public" in served.headers["Cache-Control"]
    assert requests.get(stack.intake_url + ans["url"], headers={"If-None-Match": served.headers["ETag"]},
                        timeout=30).status_code == 304

    # the same photo for the same page again: a replay, not a second row
    again = upload(stack, kpps, kode, data, halaman=1)
    assert again.status_code == 200 and again.json()["sha256"] == sha

    # after the result is in, a page photo links to its version
    resp = requests.post(f"{stack.intake_url}/api/v1/hasil/ppwp/{kode}", json=sintetis.hasil(kode, PASLON),
                         headers={"Authorization": f"Bearer {kpps}", "Idempotency-Key": str(uuid.uuid4())},
                         timeout=30)
    assert resp.status_code == 201, resp.text
    page2 = upload(stack, kpps, kode, simpan(gambar(), "PNG"), halaman=2, filename="p2.png",
                   content_type="image/png")
    assert page2.status_code == 201 and page2.json()["versi"] == 1 and page2.json()["jenis"] == "image/png"
    with engine().connect() as conn:
        rows = conn.execute(text("""SELECT f.halaman, f.versi, f.hasil_id, h.versi AS hv, f.exif, f.oleh
                                    FROM foto f LEFT JOIN hasil h ON h.id = f.hasil_id
                                    WHERE f.kode_tps = :t ORDER BY f.halaman"""), {"t": kode}).all()
    assert [(r.halaman, r.versi) for r in rows] == [(1, None), (2, 1)]
    assert rows[1].hv == 1 and rows[0].exif["perangkat"] == "Samsung SM-A145F"

    listed = listing(stack, kpps, kode)
    assert listed.status_code == 200
    assert [(p["halaman"], p["sha256"]) for p in listed.json()] == [(1, sha), (2, page2.json()["sha256"])]


def test_a_photo_used_at_another_tps_is_flagged(stack, issue, tps_pool):
    _, tps = tps_pool()
    a, b, c = tps[0], tps[1], tps[2]
    img = gambar(size=(800, 600), block=100)
    data = simpan(img, "JPEG", quality=95)
    assert upload(stack, issue("kpps", a), a, data).status_code == 201

    reused = upload(stack, issue("kpps", b), b, data, halaman=3)
    assert reused.status_code == 201, reused.text
    flags = reused.json()["tanda"]
    assert [f["kode"] for f in flags] == ["FOTO_SAMA_DI_TPS_LAIN"]
    assert flags[0]["tps"] == [{"kontes": "ppwp", "kode_tps": a, "halaman": 1}] and a in flags[0]["pesan"]
    with engine().connect() as conn:
        stored = conn.execute(text("SELECT tanda FROM foto WHERE kode_tps = :t"), {"t": b}).scalar_one()
    assert [f["kode"] for f in stored] == ["FOTO_SAMA_DI_TPS_LAIN"]

    # the same picture saved again (smaller, lower quality): different bytes, same picture
    resaved = upload(stack, issue("kpps", c), c, simpan(img.resize((400, 300)), "JPEG", quality=60))
    assert resaved.status_code == 201
    assert {f["kode"] for f in resaved.json()["tanda"]} == {"FOTO_MIRIP_DI_TPS_LAIN"}
    assert {t["kode_tps"] for t in resaved.json()["tanda"][0]["tps"]} == {a, b}

    # the list shows the flags on the first TPS too, computed when read
    first = listing(stack, issue("pps", a[:10]), a).json()
    assert {f["kode"] for f in first[0]["tanda"]} == {"FOTO_SAMA_DI_TPS_LAIN", "FOTO_MIRIP_DI_TPS_LAIN"}


def test_not_an_image_and_malformed_uploads(stack, issue, tps_pool):
    _, tps = tps_pool()
    kode = tps[0]
    kpps = issue("kpps", kode)
    body = problem(upload(stack, kpps, kode, b"#!/bin/sh\necho not a photo\n", filename="c-hasil.jpg"), 415,
                   "FOTO_BUKAN_GAMBAR")
    assert "JPEG" in body["pesan"]
    problem(upload(stack, kpps, kode, simpan(gambar(), "GIF"), filename="x.gif", content_type="image/gif"), 415)
    problem(upload(stack, kpps, kode, foto_jpeg()[:2000]), 422, "FOTO_RUSAK")
    bad_page = problem(upload(stack, kpps, kode, foto_jpeg(), halaman="satu"), 422)
    assert bad_page["temuan"][0]["kode"] == "HALAMAN_TIDAK_VALID"
    assert problem(upload(stack, kpps, kode, foto_jpeg(), halaman=0), 422)["temuan"][0]["fields"] == ["halaman"]
    assert problem(upload(stack, kpps, kode, foto_jpeg(), halaman=None), 422)["temuan"][0]["kode"] == \
        "HALAMAN_TIDAK_VALID"
    assert problem(upload(stack, kpps, kode, None), 422)["temuan"][0]["kode"] == "BERKAS_WAJIB"
    problem(requests.post(f"{stack.intake_url}/api/v1/hasil/ppwp/{kode}/foto", json={"halaman": 1},
                          headers={"Authorization": f"Bearer {kpps}"}, timeout=30), 415, "BUKAN_MULTIPART")
    with engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM foto WHERE kode_tps = :t"), {"t": kode}).scalar_one() == 0


def test_roles_and_unknown_places(stack, issue, tps_pool):
    _, tps = tps_pool()
    kode, other = tps[0], tps[1]
    problem(upload(stack, None, kode, foto_jpeg()), 401)
    problem(upload(stack, "not-a-token", kode, foto_jpeg()), 401)
    problem(upload(stack, issue("kpps", other), kode, foto_jpeg()), 403, "DI_LUAR_WILAYAH")
    problem(upload(stack, issue("ppk", "351701" if kode[4:6] != "01" else "351702"), kode, foto_jpeg()), 403)
    assert upload(stack, issue("ppk", kode[:6]), kode, foto_jpeg()).status_code == 201
    problem(upload(stack, issue("kpu_kab", "3517"), kode[:10] + "899", foto_jpeg()), 404, "TPS_TIDAK_DIKENAL")
    problem(upload(stack, issue("kpu_kab", "3517"), kode, foto_jpeg(), kontes="pkwkx"), 404, "KONTES_TIDAK_DIKENAL")
    problem(requests.get(f"{stack.intake_url}/api/v1/hasil/ppwp/{kode}/foto", timeout=30), 401)
    problem(listing(stack, issue("kpps", other), kode), 403)
    problem(requests.get(f"{stack.intake_url}/api/v1/hasil/ppwp/{kode}/foto/{'0' * 64}", timeout=30), 404,
            "FOTO_TIDAK_DITEMUKAN")
    problem(requests.get(f"{stack.intake_url}/api/v1/hasil/ppwp/{kode}/foto/..%2F..%2Fetc", timeout=30), 404)
    # a photo is served only under the TPS it was sent for
    sha = listing(stack, issue("kpps", kode), kode).json()[0]["sha256"]
    problem(requests.get(f"{stack.intake_url}/api/v1/hasil/ppwp/{other}/foto/{sha}", timeout=30), 404)


def _raw_post(stack, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
    """Send headers and the start of a body, read the answer: a server that refuses by the declared
    length answers without reading the rest."""
    host, port = "127.0.0.1", stack.intake_port
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall("\r\n".join(lines).encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 4 + 20:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, rest = answer.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    try:
        return status, json.loads(rest[rest.index(b"{"):rest.rindex(b"}") + 1])
    except ValueError:
        return status, {}


def test_size_limits_are_per_endpoint(stack, issue, tps_pool):
    _, tps = tps_pool()
    kode = tps[0]
    kpps = issue("kpps", kode)
    # a photo far above the JSON limit of the intake is fine here
    big = simpan(gambar(size=(1600, 1200), block=4), "PNG")
    assert 64 * 1024 < len(big) < foto.FOTO_MAKS
    assert upload(stack, kpps, kode, big, content_type="image/png").status_code == 201
    # a declared body above the photo limit is refused before it is read
    status, body = _raw_post(stack, f"/api/v1/hasil/ppwp/{kode}/foto",
                             {"Authorization": f"Bearer {kpps}", "Content-Type": "multipart/form-data; boundary=b",
                              "Content-Length": str(foto.BODY_MAKS + 1)}, b"--b\r\n")
    assert status == 413 and body["kode"] == "FOTO_TERLALU_BESAR" and body["pesan"] and body["message"]
    # the JSON endpoints keep the intake's 64 KiB limit
    status, body = _raw_post(stack, f"/api/v1/hasil/ppwp/{kode}",
                             {"Authorization": f"Bearer {kpps}", "Content-Type": "application/json",
                              "Idempotency-Key": str(uuid.uuid4()), "Content-Length": str(200 * 1024)}, b"{")
    assert status == 413
    # a photo of more bytes than the limit, sent chunked (no declared length), is refused too
    def chunks():
        yield foto_jpeg()
        for _ in range(foto.FOTO_MAKS // (1024 * 1024) + 1):
            yield b"\0" * (1024 * 1024)

    boundary = "rekapbatas"
    def multipart():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"halaman\"\r\n\r\n1\r\n"
               f"--{boundary}\r\nContent-Disposition: form-data; name=\"berkas\"; filename=\"a.jpg\"\r\n"
               "Content-Type: image/jpeg\r\n\r\n").encode()
        yield from chunks()
        yield f"\r\n--{boundary}--\r\n".encode()
    try:
        resp = requests.post(f"{stack.intake_url}/api/v1/hasil/ppwp/{kode}/foto", data=multipart(), timeout=60,
                             headers={"Authorization": f"Bearer {kpps}",
                                      "Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert resp.status_code == 413 and resp.json()["kode"] == "FOTO_TERLALU_BESAR"
    except requests.ConnectionError:
        pass  # the server may close the connection while the client is still sending: also a refusal
    with engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM foto WHERE kode_tps = :t"), {"t": kode}).scalar_one() == 1
