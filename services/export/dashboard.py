"""The dashboard (dasbor) of the export service: the page at `/` where KPU staff
and the public watch the recap come in, drill down kabupaten -> kecamatan ->
desa -> TPS, and staff download the D.Hasil workbooks.

The page is rendered here (Jinja, inline SVG charts); a small script
(static/dasbor.js) polls the public recap JSON every few seconds and updates
the numbers and the charts in place. Every asset is served by rekap itself.

Staff sign in with their bearer token. The script keeps it in sessionStorage
(this tab only, gone when the tab closes) and sends it as `Authorization:
Bearer` to the same API a script would call: no cookie, so no second kind of
credential and nothing a forged cross-site request could ride on. What the
page shows without a token is exactly what the public API shows.

Staff-only JSON for the page, all needing a bearer token:

- `GET /api/v1/dasbor/saya`: who the token is (role, region, what it may do);
- `GET /api/v1/dasbor/periksa/{kontes}/{kode}`: the review list, every TPS of the
  region whose current result is `perlu_periksa`, with its findings (pps or wider);
- `GET /api/v1/dasbor/riwayat/{kontes}/{kode_tps}`: the history of a TPS result.
  The history lives on the intake service; this proxies the request to it with
  the caller's own token (`REKAP_INTAKE_URL`, default the intake on this host at
  INTAKE_PORT), so the intake stays the one place that decides who may read it.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from flask import Response, render_template, request
from flask_smorest import Blueprint
from sqlalchemy import Connection, text
from werkzeug.security import safe_join

from shared import settings
from shared.auth import PERAN
from shared.db.engine import engine
from shared.domain import wilayah as w
from shared.guard import request_id
from shared.web import TIDAK_BERUBAH, Problem, berkas, galat, token
from services.export import rekap, schemas

ASET = Path(__file__).parent / "static"
# A flask-smorest blueprint only so that the export's OpenAPI document lists the page and its JSON.
bp = Blueprint("dasbor", __name__, template_folder="templates", description="Dashboard: the page and staff JSON")
HTML = {"type": "string"}

INTERVAL_MS = 5000  # how often the page polls the recap JSON
PERIKSA_MAKS = 500  # TPS listed in the review list at most (the count is always exact)
WIB = timezone(timedelta(hours=7))

TINGKAT = {"nasional": "Nasional", "provinsi": "Provinsi", "kabupaten": "Kabupaten/Kota", "kecamatan": "Kecamatan",
           "desa": "Desa/Kelurahan", "tps": "TPS"}
ANAK = {"nasional": "provinsi", "provinsi": "kabupaten", "kabupaten": "kecamatan", "kecamatan": "desa",
        "desa": "tps"}
STATUS = {"diterima": "Diterima", "perlu_periksa": "Perlu diperiksa", "belum": "Belum masuk"}
PERAN_LABEL = {"kpps": "KPPS", "pps": "PPS", "ppk": "PPK", "kpu_kab": "KPU Kabupaten/Kota",
               "kpu_prov": "KPU Provinsi", "kpu": "KPU"}


# --- formatting, the same rules as static/dasbor.js ------------------------------------

def angka(n) -> str:
    """12345 -> '12.345' (Indonesian digit grouping)."""
    return f"{int(n or 0):,}".replace(",", ".")


def basis_poin(bagian: int, keseluruhan: int) -> int:
    """A share in hundredths of a percent, rounded half up, in integers (as the script does)."""
    if not keseluruhan:
        return 0
    return (bagian * 20000 + keseluruhan) // (2 * keseluruhan)


def persen_bp(bp: int) -> str:
    return f"{bp // 100},{bp % 100:02d}"


def persen(x) -> str:
    return persen_bp(round(float(x or 0) * 100))


def bagian(suara: dict, nomor, sah: int) -> str:
    return persen_bp(basis_poin(int(suara.get(str(nomor), 0)), sah))


def lebar(suara: dict, nomor, sah: int) -> str:
    """A bar's width (percent) for a paslon's share."""
    return f"{basis_poin(int(suara.get(str(nomor), 0)), sah) / 100:.2f}"


def waktu(iso: str | None) -> str:
    if not iso:
        return "-"
    t = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(WIB)
    return t.strftime("%d-%m-%Y %H:%M:%S WIB")


@bp.app_template_filter("angka")
def _f_angka(n):
    return angka(n)


@bp.app_template_filter("persen")
def _f_persen(x):
    return persen(x)


# --- reading ---------------------------------------------------------------------------

def _daftar_kontes(conn: Connection) -> list[dict]:
    rows = conn.execute(text("SELECT kode, nama FROM kontes ORDER BY kode")).all()
    return [{"kode": r.kode, "nama": r.nama} for r in rows]


def _akar(conn: Connection, kontes: str) -> list[dict]:
    """The top regions of a contest (where it is held), with their names."""
    rows = conn.execute(text("""
        SELECT kw.kode_wilayah AS kode, coalesce(w.nama, 'INDONESIA') AS nama
        FROM kontes_wilayah kw LEFT JOIN wilayah w ON w.kode = kw.kode_wilayah
        WHERE kw.kontes = :k ORDER BY kw.kode_wilayah"""), {"k": kontes}).all()
    return [{"kode": r.kode, "nama": r.nama, "tingkat": w.tingkat(r.kode)} for r in rows]


def _jejak(conn: Connection, kontes: str, kode: str) -> list[dict]:
    """The ancestors of a region that have a recap of this contest, top first (breadcrumbs)."""
    ancestors = w.leluhur(kode)
    if not ancestors:
        return []
    rows = conn.execute(text("""
        SELECT r.kode, coalesce(w.nama, 'INDONESIA') AS nama, r.tingkat
        FROM rekap r LEFT JOIN wilayah w ON w.kode = r.kode
        WHERE r.kontes = :k AND r.kode = ANY(:a)"""), {"k": kontes, "a": ancestors}).all()
    found = {r.kode: {"kode": r.kode, "nama": r.nama, "tingkat": r.tingkat} for r in rows}
    return [found[a] for a in reversed(ancestors) if a in found]


def _kode_sah(kode: str) -> bool:
    try:
        w.tingkat(kode)
    except ValueError:
        return False
    return True


# --- the page --------------------------------------------------------------------------

def _halaman(status: int = 200, **ctx) -> Response:
    ctx.setdefault("kontes", None)
    ctx.setdefault("daftar_kontes", [])
    html = render_template("dasbor.html", TINGKAT=TINGKAT, ANAK=ANAK, STATUS=STATUS, interval=INTERVAL_MS,
                           bagian=bagian, lebar=lebar, waktu=waktu, aset=_aset_url, **ctx)
    resp = Response(html, status=status, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/")
@bp.doc(parameters=[{"in": "query", "name": "kontes", "schema": {"type": "string"}},
                    {"in": "query", "name": "kode", "schema": {"type": "string"}, "description": "region or TPS"}],
        responses={200: {"description": "The page.", "content": {"text/html": {"schema": HTML}}},
                   404: {"description": "The page, saying which contest or region is unknown.",
                         "content": {"text/html": {"schema": HTML}}}})
@bp.doc(responses=galat(503))
def halaman():
    """The dashboard: `?kontes=ppwp&kode=3517`; without them the first contest at its top region."""
    kontes = request.args.get("kontes", "").strip()
    kode = request.args.get("kode", "").strip()
    with engine().connect() as conn:
        daftar = _daftar_kontes(conn)
        if not daftar:
            return _halaman(pesan="Belum ada kontes. Muat data wilayah dan pemilu dengan `rekap seed`.")
        if kontes not in {k["kode"] for k in daftar}:
            if kontes:
                return _halaman(404, daftar_kontes=daftar, pesan=f"Kontes '{kontes}' tidak ada.")
            kontes = daftar[0]["kode"]
        info = rekap.kontes_info(conn, kontes)
        paslon = info["paslon"] or []
        akar = _akar(conn, kontes)
        ctx = {"daftar_kontes": daftar, "kontes": info, "paslon": paslon, "akar": akar}
        if not akar:
            return _halaman(**ctx, pesan=f"Kontes {kontes} belum punya wilayah pemilihan.")
        if not kode:
            if len(akar) != 1:  # held in several regions with no common recap: let the visitor pick
                return _halaman(**ctx)
            kode = akar[0]["kode"]
        if not _kode_sah(kode):
            return _halaman(404, **ctx, pesan=f"Kode wilayah '{kode}' tidak dikenal.")
        tps = w.tingkat(kode) == "tps"
        data = rekap.region(conn, kontes, kode[:10] if tps else kode)
        item = None
        if data is not None and tps:
            item = next((a for a in data["anak"] if a["kode"] == kode), None)
        if data is None or (tps and item is None):
            return _halaman(404, **ctx, pesan=f"Tidak ada rekap kontes {kontes} untuk wilayah {kode}.")
        jejak = _jejak(conn, kontes, data["kode"]) + ([{k: data[k] for k in ("kode", "nama", "tingkat")}] if tps else [])
    sumber = f"/api/v1/rekap/{kontes}/{data['kode']}"
    return _halaman(**ctx, data=data, tps=item, kode=kode, jejak=jejak, sumber=sumber)


def _aset_url(nama: str) -> str:
    """The URL of an asset with a digest of its content: a new release is fetched anew,
    an unchanged file stays cached."""
    try:
        etag = _baca(str(ASET / nama))[2]
    except OSError:
        etag = "0"
    return f"/aset/{nama}?v={etag[:12]}"


_berkas: dict[str, tuple[float, bytes, bytes, str]] = {}  # asset -> (mtime, body, gzipped body, etag)


def _baca(path: str) -> tuple[bytes, bytes, str]:
    mtime = os.stat(path).st_mtime
    cached = _berkas.get(path)
    if cached is None or cached[0] != mtime:
        data = Path(path).read_bytes()
        cached = (mtime, data, gzip.compress(data, 9, mtime=0), hashlib.sha256(data).hexdigest()[:20])
        _berkas[path] = cached
    return cached[1:]


def _mau_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "")


@bp.get("/aset/<path:nama>")
@bp.doc(responses={200: berkas("The asset (the media type by its name: mimetypes).", "text/css",
                               "text/javascript", "application/javascript", "image/svg+xml"),
                   304: TIDAK_BERUBAH})
@bp.doc(responses=galat(404))
def aset(nama: str):
    """CSS, script and icon of the page: cached for a day (the URL changes with the file),
    gzipped for clients that take it, 304 on a matching If-None-Match."""
    path = safe_join(str(ASET), nama)
    if path is None or not os.path.isfile(path):
        raise Problem(404)
    data, packed, etag = _baca(path)
    gz = _mau_gzip()
    resp = Response(packed if gz else data, mimetype=mimetypes.guess_type(nama)[0] or "application/octet-stream")
    if gz:
        resp.headers["Content-Encoding"] = "gzip"
    resp.vary.add("Accept-Encoding")
    resp.set_etag(etag + ("-gz" if gz else ""))
    resp.cache_control.public = True
    resp.cache_control.max_age = 86400
    return resp.make_conditional(request)


@bp.after_request
def _kompres(resp: Response) -> Response:
    """Pages and staff JSON gzipped when the client takes it (KPU offices on slow links)."""
    if (resp.direct_passthrough or "Content-Encoding" in resp.headers or resp.status_code not in (200, 404)
            or not _mau_gzip() or resp.mimetype not in ("text/html", "application/json")):
        return resp
    data = resp.get_data()
    if len(data) < 1024:
        return resp
    resp.set_data(gzip.compress(data, 6))
    resp.headers["Content-Encoding"] = "gzip"
    resp.vary.add("Accept-Encoding")
    return resp


# --- staff JSON ------------------------------------------------------------------------

@bp.get("/api/v1/dasbor/saya")
@bp.alt_response(200, schema=schemas.Saya, success=True)
@bp.doc(responses=galat(401, 503))
def saya():
    """Who the request's token is: its role, region and what the dashboard lets it do."""
    tok = token()
    with engine().connect() as conn:
        nama = conn.execute(text("SELECT nama FROM wilayah WHERE kode = :k"), {"k": tok.wilayah}).scalar()
    return {"peran": tok.peran, "peran_label": PERAN_LABEL[tok.peran], "wilayah": tok.wilayah,
            "nama_wilayah": nama or ("INDONESIA" if tok.wilayah == w.NASIONAL else tok.wilayah),
            "tingkat": PERAN[tok.peran], "boleh_unduh": tok.minimal("ppk"), "boleh_periksa": tok.minimal("pps"),
            "kedaluwarsa": datetime.fromtimestamp(tok.kedaluwarsa, timezone.utc).isoformat().replace("+00:00", "Z")}


@bp.get("/api/v1/dasbor/periksa/<string:kontes>/<string:kode>")
@bp.alt_response(200, schema=schemas.Periksa, success=True)
@bp.doc(responses=galat(401, (403, "The token is below pps, or neither contains nor lies in the region."),
                        (404, "Unknown contest, or not a region code."), 503))
def periksa(kontes: str, kode: str):
    """The TPS under a region whose current result needs checking, with their findings
    (pps or wider). A token for a region inside the one asked gets its own part."""
    if not _kode_sah(kode):
        raise Problem(404)
    tok = token()
    if not tok.minimal("pps"):
        raise Problem(403)
    if not tok.mencakup(kode):
        if not w.di_dalam(tok.wilayah, kode):
            raise Problem(403)
        kode = tok.wilayah
    where, params = rekap.di_rentang("k.kode_tps", kode)
    params.update(k=kontes, n=PERIKSA_MAKS)
    with engine().connect() as conn:
        if conn.execute(text("SELECT 1 FROM kontes WHERE kode = :k"), {"k": kontes}).first() is None:
            raise Problem(404)
        jumlah = conn.execute(text(f"""SELECT count(*) FROM hasil_kini k
                                       WHERE k.kontes = :k AND k.status = 'perlu_periksa' AND {where}"""),
                              params).scalar_one()
        rows = conn.execute(text(f"""
            SELECT k.kode_tps, t.nama, d.nama AS nama_desa, c.nama AS nama_kecamatan, k.versi, h.temuan, h.dibuat
            FROM hasil_kini k JOIN hasil h ON h.id = k.hasil_id
            JOIN wilayah t ON t.kode = k.kode_tps
            LEFT JOIN wilayah d ON d.kode = left(k.kode_tps, 10)
            LEFT JOIN wilayah c ON c.kode = left(k.kode_tps, 6)
            WHERE k.kontes = :k AND k.status = 'perlu_periksa' AND {where}
            ORDER BY k.kode_tps LIMIT :n"""), params).all()
    return {"kontes": kontes, "kode": kode, "jumlah": jumlah, "ditampilkan": len(rows),
            "tps": [{"kode": r.kode_tps, "nama": r.nama, "nama_desa": r.nama_desa, "nama_kecamatan": r.nama_kecamatan,
                     "versi": r.versi, "dibuat": r.dibuat.isoformat().replace("+00:00", "Z"),
                     "temuan": [{"kode": t.get("kode"), "pesan": t.get("pesan"), "fields": t.get("fields", [])}
                                for t in r.temuan or []]} for r in rows]}


def intake_url() -> str:
    return os.environ.get("REKAP_INTAKE_URL") or f"http://127.0.0.1:{settings.load().intake_port}"


@bp.get("/api/v1/dasbor/riwayat/<string:kontes>/<string:kode_tps>")
@bp.alt_response(200, schema=schemas.Versi(many=True), success=True,
                 description="The intake's answer (GET /api/v1/hasil/{kontes}/{kode_tps}/riwayat), as it is.")
@bp.doc(responses=galat(401, 403, (404, "Not a TPS code, or the intake does not know it."),
                        (502, "The intake is unreachable (INTAKE_TIDAK_TERJANGKAU)."), 503))
def riwayat(kontes: str, kode_tps: str):
    """Every version of a TPS result, from the intake service, asked with the caller's token."""
    if not (kode_tps.isdigit() and len(kode_tps) == w.PANJANG["tps"] and kontes.isalnum()):
        raise Problem(404)
    token()  # no token, a forged or revoked one: refused here, before the intake is bothered
    try:
        resp = requests.get(f"{intake_url()}/api/v1/hasil/{kontes}/{kode_tps}/riwayat", timeout=(3, 15),
                            headers={"Authorization": request.headers["Authorization"],
                                     "X-Request-Id": request_id(), "Accept": "application/json"})
    except requests.RequestException:
        raise Problem(502, "INTAKE_TIDAK_TERJANGKAU", "Layanan intake (riwayat hasil) tidak dapat dihubungi; "
                      "coba lagi sebentar lagi.", "The intake service (result history) is unreachable; "
                      "retry shortly.") from None
    out = Response(resp.content, status=resp.status_code,
                   mimetype=resp.headers.get("Content-Type", "application/json").split(";")[0])
    if "Retry-After" in resp.headers:
        out.headers["Retry-After"] = resp.headers["Retry-After"]
    return out
