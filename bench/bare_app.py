"""The baseline of the intake benchmark: a bare Flask JSON endpoint, served by
gunicorn with the intake's own settings. It parses the same body and answers
201 with a small JSON document, and does nothing else."""

from flask import Flask, jsonify, request


def create_app() -> Flask:
    app = Flask("bare")

    @app.post("/api/v1/hasil/<kontes>/<kode_tps>")
    def bare(kontes: str, kode_tps: str):
        body = request.get_json()
        return jsonify({"kode_tps": kode_tps, "kontes": kontes, "versi": 1, "status": "diterima",
                        "temuan": [], "n": len(body)}), 201

    return app
