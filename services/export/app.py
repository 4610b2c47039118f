"""The export service: recap JSON, Sirekap-shaped JSON, D.Hasil workbooks (port 8002).

Workbooks: `GET /api/v1/rekap/{kontes}/{kode}.xlsx` answers the file when it
is cached for the region's current data version (build.py), builds it in the
request when the region is small (at most build.SYNC_TPS TPS), and otherwise
(or when the client sends `Prefer: respond-async`) queues a job and answers
`202` with the job's URL, `GET /api/v1/ekspor/{id}`: `202` while it runs, then
the file. Files stream from disk with an ETag of their data version.
"""

from flask import Flask, request, send_file, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from shared import web
from shared.db.engine import engine
from shared.web import Problem, wajib
from services.export import build, cache, jobs, rekap, schemas, sirekap
from services.export.dashboard import bp as dasbor

blp = Blueprint("rekap", __name__, url_prefix="/api/v1/rekap", description="Recap per region")
ekspor = Blueprint("ekspor", __name__, url_prefix="/api/v1/ekspor",
                   description="Workbook jobs of large regions")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REKAP_ATAU_BUKU = "The recap as JSON (`{kode}`), or the D.Hasil workbook (`{kode}.xlsx`)."
PREFER = {"in": "header", "name": "Prefer", "required": False, "schema": {"type": "string", "enum": ["respond-async"]},
          "description": "`{kode}.xlsx`: always answer 202 and a job, even for a small region"}
RETRY_AFTER = "2"


def _not_found(kontes: str, kode: str) -> Problem:
    return Problem(404, "REKAP_TIDAK_DITEMUKAN", f"Tidak ada rekap kontes '{kontes}' untuk wilayah '{kode}'.",
                   f"No recap of contest '{kontes}' for region '{kode}'.")


def _busy() -> Problem:
    return Problem(503, "EKSPOR_SIBUK", "Berkas sedang dibuat; coba lagi sebentar lagi.",
                   "The workbook is being built; retry shortly.")


def _send(path, kontes: str, kode: str, kunci: str, versi):
    resp = send_file(path, mimetype=XLSX, as_attachment=True, download_name=f"rekap-{kontes}-{kode}.xlsx",
                     etag=kunci, conditional=True, max_age=0)
    resp.headers["X-Rekap-Versi-Data"] = str(versi)
    return resp


def _job(state: dict, status: int = 202):
    url = url_for("ekspor.Pekerjaan", job_id=state["id"])
    return {**state, "url": url}, status, {"Location": url, "Retry-After": RETRY_AFTER}


def workbook(kontes: str, kode: str):
    """The D.Hasil workbook of a region: ppk or wider, for that region."""
    wajib("ppk", kode)
    s = build.current(kontes, kode)
    if s is None:
        raise _not_found(kontes, kode)
    path = cache.path(kontes, kode, s.kunci)
    if path.exists():
        try:
            return _send(path, kontes, kode, s.kunci, s.versi)
        except FileNotFoundError:  # pruned this instant by two newer versions: build anew
            pass
    if s.sync and "respond-async" not in request.headers.get("Prefer", ""):
        try:
            built = build.workbook(kontes, kode)
        except TimeoutError:
            raise _busy() from None
        if built is None:
            raise _not_found(kontes, kode)
        s, path = built
        return _send(path, kontes, kode, s.kunci, s.versi)
    try:
        state = jobs.submit(s.kunci, kontes, kode, s.versi)
    except Exception:  # noqa: BLE001 - no broker: no job
        raise Problem(503) from None
    return _job(state)


@blp.route("/<string:kontes>/<string:kode>")
class RekapWilayah(MethodView):
    @blp.alt_response(200, schema=schemas.Rekap, description=REKAP_ATAU_BUKU, success=True)
    @blp.doc(responses=web.unduhan(XLSX, description=REKAP_ATAU_BUKU), parameters=[PREFER])
    @blp.alt_response(202, schema=schemas.Pekerjaan, headers=schemas.PEKERJAAN_HEADERS, success=True,
                      description="`{kode}.xlsx` of a large region (or with `Prefer: respond-async`): "
                                  "a job is building it; poll its `url`.")
    @blp.doc(responses=web.galat((401, "`{kode}.xlsx` without a valid token."),
                                 (403, "`{kode}.xlsx`: the token is not ppk or wider for this region."),
                                 (404, "No recap of this contest for this region (REKAP_TIDAK_DITEMUKAN)."),
                                 (503, "The database or the broker is unreachable, or the workbook is being "
                                       "built by another request (EKSPOR_SIBUK): retry shortly.")))
    def get(self, kontes: str, kode: str):
        """The recap of one region (public); `<kode>.xlsx` is its D.Hasil workbook (ppk or wider)."""
        if kode.endswith(".xlsx"):
            return workbook(kontes, kode[: -len(".xlsx")])
        with engine().connect() as conn:
            data = rekap.region(conn, kontes, kode)
        if data is None:
            raise _not_found(kontes, kode)
        return data


@blp.route("/<string:kontes>/<string:kode>/sirekap.json")
class RekapSirekap(MethodView):
    @blp.alt_response(200, schema=schemas.Sirekap, success=True)
    @blp.doc(responses=web.galat((404, "No recap of this contest for this region (REKAP_TIDAK_DITEMUKAN)."), 503))
    def get(self, kontes: str, kode: str):
        """The recap of one region in Sirekap 2024's aggregate shape (public)."""
        with engine().connect() as conn:
            data = rekap.region(conn, kontes, kode)
            paslon = rekap.paslon(conn, kontes) or []
        if data is None:
            raise _not_found(kontes, kode)
        return sirekap.agregat(data, paslon)


@ekspor.route("/<string:job_id>")
class Pekerjaan(MethodView):
    @ekspor.doc(responses=web.unduhan(XLSX))
    @ekspor.alt_response(202, schema=schemas.Pekerjaan, headers=schemas.PEKERJAAN_HEADERS, success=True,
                         description="Queued or running: ask again after Retry-After seconds.")
    @ekspor.doc(responses=web.galat(401, (403, "The token is not ppk or wider for the job's region."),
                                    (404, "No such job, or it expired (EKSPOR_TIDAK_DITEMUKAN)."),
                                    (410, "The file was replaced by a newer data version (EKSPOR_KEDALUWARSA)."),
                                    (500, "Building the workbook failed (EKSPOR_GAGAL): ask for the .xlsx again."),
                                    503))
    def get(self, job_id: str):
        """A workbook job: 202 with its state while queued or running, then the file (ppk or wider)."""
        try:
            state = jobs.get(job_id)
        except Exception:  # noqa: BLE001
            raise Problem(503) from None
        if state is None:
            raise Problem(404, "EKSPOR_TIDAK_DITEMUKAN", "Pekerjaan ekspor tidak ada atau sudah kedaluwarsa; "
                          "minta berkas .xlsx lagi.", "No such export job, or it expired; ask for the .xlsx again.")
        wajib("ppk", state["kode"])
        if state["status"] == "selesai":
            path = cache.folder() / state["berkas"]
            if not path.exists():
                raise Problem(410, "EKSPOR_KEDALUWARSA", "Berkas sudah diganti versi data yang lebih baru; "
                              "minta berkas .xlsx lagi.", "The file was replaced by a newer data version; "
                              "ask for the .xlsx again.")
            return _send(path, state["kontes"], state["kode"], state.get("kunci") or job_id, state.get("versi_data"))
        if state["status"] == "gagal":
            raise Problem(500, "EKSPOR_GAGAL", "Pembuatan berkas gagal; minta berkas .xlsx lagi.",
                          f"Building the workbook failed: {state.get('pesan') or 'unknown error'}")
        return _job(state)


def create_app() -> Flask:
    app = web.App("rekap-export")
    app.config.update(
        API_TITLE="rekap export", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json", JSON_SORT_KEYS=False,
    )
    api = web.Api(app)
    api.register_blueprint(blp)
    api.register_blueprint(ekspor)
    api.register_blueprint(dasbor)
    web.install(app, "export")
    return app
