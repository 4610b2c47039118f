"""The export service: recap JSON, D.Hasil workbooks (port 8002)."""

import io
from datetime import datetime, timezone

from flask import Flask, send_file
from flask.views import MethodView
from flask_smorest import Api, Blueprint

from shared import web
from shared.db.engine import engine
from shared.web import Problem, wajib
from services.export import rekap

blp = Blueprint("rekap", __name__, url_prefix="/api/v1/rekap", description="Recap per region")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _not_found(kontes: str, kode: str) -> Problem:
    return Problem(404, "REKAP_TIDAK_DITEMUKAN", f"Tidak ada rekap kontes '{kontes}' untuk wilayah '{kode}'.",
                   f"No recap of contest '{kontes}' for region '{kode}'.")


def workbook(kontes: str, kode: str):
    """The D.Hasil workbook of a region: ppk or wider, for that region."""
    wajib("ppk", kode)
    from services.export.workbook import write_workbook

    with engine().connect() as conn:
        data = rekap.region(conn, kontes, kode)
        if data is None:
            raise _not_found(kontes, kode)
        info = rekap.kontes_info(conn, kontes)
        numbers = [p["nomor_urut"] for p in info["paslon"]]
        tps = rekap.tps_rows(conn, kontes, kode, numbers)
    buffer = io.BytesIO()
    write_workbook(buffer, data, tps, info, dibuat=datetime.now(timezone.utc), versi_data=data["versi_data"])
    buffer.seek(0)
    return send_file(buffer, mimetype=XLSX, as_attachment=True, download_name=f"rekap-{kontes}-{kode}.xlsx")


@blp.route("/<string:kontes>/<string:kode>")
class RekapWilayah(MethodView):
    def get(self, kontes: str, kode: str):
        """The recap of one region (public); `<kode>.xlsx` is its D.Hasil workbook (ppk or wider)."""
        if kode.endswith(".xlsx"):
            return workbook(kontes, kode[: -len(".xlsx")])
        with engine().connect() as conn:
            data = rekap.region(conn, kontes, kode)
        if data is None:
            raise _not_found(kontes, kode)
        return data


def create_app() -> Flask:
    app = Flask("rekap-export")
    app.config.update(
        API_TITLE="rekap export", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json", JSON_SORT_KEYS=False,
    )
    api = Api(app)
    api.register_blueprint(blp)
    web.install(app, "export")
    return app
