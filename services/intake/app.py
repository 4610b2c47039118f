"""The intake service: KPPS submit C.Hasil, PPK correct them (port 8001)."""

from flask import Flask

from shared import web

BODY_LIMIT = 64 * 1024  # a C.Hasil is about 1 KB; anything this big is not one


def create_app() -> Flask:
    app = web.App("rekap-intake")
    app.config.update(
        API_TITLE="rekap intake", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json",
        **web.OPENAPI_DOCS,
        MAX_CONTENT_LENGTH=BODY_LIMIT, JSON_SORT_KEYS=False,
    )
    api = web.Api(app)  # errors documented as problem+json
    from services.intake import fastpath, foto, hasil, wilayah

    api.register_blueprint(hasil.blp)
    api.register_blueprint(wilayah.blp)
    api.register_blueprint(foto.blp)
    web.install(app, "intake")
    app.wsgi_app = fastpath.FastPath(app, "intake")  # the C.Hasil writes skip Flask's machinery
    return app
