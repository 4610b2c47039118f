"""The C.Hasil fast path (services/intake/fastpath.py) answers exactly as Flask does.

The same sequence of writes, good and bad, goes to two twin TPS of one desa: to
the first through Flask's own wsgi_app, to the second through the fast path. Every
answer (status, headers, body), every access-log line, every request metric and
every stored version must be the same, the TPS code aside; and the fast path must
have answered the JSON writes itself, leaving only the rest to Flask.
"""

import json
import logging
import re

import pytest
from flask import Flask
from sqlalchemy import text
from werkzeug.test import Client

from shared import sintetis
from shared.db.engine import engine
from shared.web import REQUESTS
from services.intake import fastpath
from services.intake.app import BODY_LIMIT, create_app

PASLON = [1, 2, 3]


@pytest.fixture(scope="module")
def app(services):
    return create_app()


class Path:
    """One way into the app: Flask's own wsgi_app, or a FastPath; counts what reaches Flask."""

    def __init__(self, wsgi):
        self.reached_flask = 0
        if isinstance(wsgi, fastpath.FastPath):
            wsgi.flask = self._counted(wsgi.flask)
            self.client = Client(wsgi)
        else:
            self.client = Client(self._counted(wsgi))

    def _counted(self, flask_wsgi):
        def wsgi(environ, start_response):
            self.reached_flask += 1
            return flask_wsgi(environ, start_response)
        return wsgi


def _answers(path: Path, kode_tps: str, tokens: dict, desa: str) -> list:
    """The sequence, sent to `kode_tps`; what came back, with the TPS code made neutral."""
    good = sintetis.hasil("3517011001001", PASLON)
    auth = {peran: {"Authorization": f"Bearer {raw}"} for peran, raw in tokens.items()}
    unknown = _unknown(desa)

    def post(tps, body=None, *, key="k1", headers=None, suffix="", kontes="ppwp", raw=None,
             content_type="application/json"):
        sent = {**({"Idempotency-Key": key} if key is not None else {}), **(headers or {})}
        data = raw if raw is not None else json.dumps(body).encode()
        return path.client.post(f"/api/v1/hasil/{kontes}/{tps}{suffix}", data=data, headers=sent,
                                content_type=content_type)

    kpps, ppk = auth["kpps"], auth["ppk"]
    responses = [
        post(kode_tps, good, headers=kpps),  # a new version
        post(kode_tps, good, headers=kpps),  # its replay
        post(kode_tps, {**good, "suara_sah": 1}, headers=kpps),  # the same key, another body
        post(kode_tps, sintetis.hasil("3517011001001", PASLON, rusak="identitas"), key="k2",
             headers={**kpps, "X-Request-Id": "kpps-retry-7"}),  # flagged
        post(kode_tps, sintetis.hasil("3517011001001", PASLON, rusak="mustahil"), key="k3", headers=kpps),
        post(kode_tps, {**good, "suara": {"1": 1, "2": -5, "3": 1}}, key="k4", headers=kpps),  # malformed
        post(kode_tps, {**good, "kejutan": 1}, key="k4", headers=kpps),  # an unknown field
        post(kode_tps, raw=b'{"pemilih": ', key="k5", headers=kpps),  # not JSON
        post(kode_tps, raw=b"[1, 2]", key="k5", headers=kpps),  # JSON, not an object
        post(kode_tps, raw=b"\xff\xfe\x00", key="k5", headers=kpps),  # not text at all
        post(kode_tps, good, key=None, headers=kpps),  # no Idempotency-Key
        post(kode_tps, good, key="   ", headers=kpps),  # a blank one
        post(kode_tps, good, key="k6"),  # no token
        post(kode_tps, good, key="k6", headers={"Authorization": "Bearer palsu"}),  # a forged one
        post(kode_tps, good, key="k6", headers=auth["kpps_lain"]),  # another TPS's KPPS
        post(kode_tps, good, key="k6", headers=kpps, kontes="pilkada_x"),  # no such contest
        post(unknown, good, key="k6", headers=ppk),  # no such TPS
        post(kode_tps, good, key="k7", headers=kpps, suffix="/koreksi"),  # a KPPS may not correct
        post(kode_tps, good, key="k7", headers=ppk, suffix="/koreksi"),  # no alasan
        post(kode_tps, {**good, "alasan": "BA pleno PPK no. 7"}, key="k7", headers=ppk, suffix="/koreksi"),
        post(kode_tps, {**good, "alasan": "  "}, key="k8", headers=kpps, suffix="/psu"),
        post(kode_tps, {**good, "alasan": "Keputusan KPU Kab. 12/2024"}, key="k8", headers=kpps, suffix="/psu"),
        post(kode_tps, good, key="k9", headers=kpps, content_type="text/plain"),  # Flask's: 415
        post(kode_tps, raw=b" " * (BODY_LIMIT + 1), key="k9", headers=kpps),  # Flask's: 413
        post(kode_tps, good, key="k9", headers=kpps, content_type="application/vnd.rekap+json"),
        post(kode_tps, good, key="k10", headers=kpps, suffix="/"),  # not a rule: Flask's 404
        post(kode_tps, good, key="k\x0011", headers=kpps),  # a NUL in the key
        post(kode_tps, {**good, "alasan": "BA \x00 12"}, key="k12", headers=ppk, suffix="/koreksi"),  # in alasan
        post(kode_tps, good, key="k13", headers=ppk, suffix="%00"),  # in the path: no such TPS
    ]
    return [_neutral(r, kode_tps, unknown) for r in responses]


def _unknown(desa: str) -> str:
    return desa + "999"  # no such TPS in the desa, in the ppk's kecamatan


def _neutral(resp, kode_tps: str, unknown: str | None = None) -> tuple:
    body = resp.get_data(as_text=True)
    if unknown:
        body = body.replace(unknown, "<unknown>")
    body = body.replace(kode_tps, "<tps>")
    headers = sorted((k, v) for k, v in resp.headers.items() if k != "X-Request-Id")
    request_id = resp.headers.get("X-Request-Id", "")
    return resp.status_code, body, headers, request_id if not re.fullmatch(r"[0-9a-f]{32}", request_id) else "new"


def _stored(kode_tps: str) -> list:
    with engine().connect() as conn:
        rows = conn.execute(text("""
            SELECT h.versi, h.jenis, h.status, h.angka, h.isian, h.temuan, h.alasan, h.oleh, h.idempotency_key,
                   h.isian_sha256, h.jawaban::text, (SELECT count(*) FROM hasil_kini k WHERE k.hasil_id = h.id)
            FROM hasil h WHERE h.kode_tps = :t ORDER BY h.versi"""), {"t": kode_tps}).all()
    # `oleh` is peran:wilayah:token id, and each twin has a KPPS token of its own
    return [tuple(str(v).replace(kode_tps, "<tps>") for v in (*row[:7], row.oleh.rsplit(":", 1)[0], *row[8:]))
            for row in rows]


def _metrics() -> dict:
    return {tuple(s.labels.values()): s.value for m in REQUESTS.collect() for s in m.samples
            if s.name.endswith("_count")}


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        line = {k: v for k, v in record.rincian.items() if k != "ms"}  # timings differ
        line["token"] = line["token"] is not None  # each twin has a KPPS token of its own
        self.lines.append(line)


def _run(path: Path, kode_tps: str, tokens: dict, desa: str) -> tuple:
    lines = _Lines()
    access = logging.getLogger("rekap.access")
    access.addHandler(lines)
    before = _metrics()
    try:
        answers = _answers(path, kode_tps, tokens, desa)
    finally:
        access.removeHandler(lines)
    after = _metrics()
    counted = {labels: after[labels] - before.get(labels, 0) for labels in after if after[labels] != before.get(labels, 0)}
    for line in lines.lines:
        line["path"] = line["path"].replace(kode_tps, "<tps>").replace(_unknown(desa), "<unknown>")
        line["request_id"] = "given" if line["request_id"] == "kpps-retry-7" else "new"
    return answers, lines.lines, counted


def test_the_fast_path_answers_every_write_as_flask_does(app, issue, tps_pool):
    desa, tps = tps_pool()
    twins = {"flask": tps[0], "fast": tps[1]}
    ppk = issue("ppk", desa[:6])
    outside = issue("kpps", tps[2])
    paths = {"flask": Path(app.wsgi_app.flask), "fast": Path(create_app().wsgi_app)}
    results = {}
    for name, kode in twins.items():
        tokens = {"kpps": issue("kpps", kode), "ppk": ppk, "kpps_lain": outside}
        results[name] = _run(paths[name], kode, tokens, desa)

    flask_answers, flask_lines, flask_counted = results["flask"]
    fast_answers, fast_lines, fast_counted = results["fast"]
    assert [a[0] for a in flask_answers] == [201, 201, 409, 201, 422, 422, 422, 400, 400, 400, 400, 400, 401, 401,
                                             403, 404, 404, 403, 422, 201, 422, 201, 415, 413, 201, 404, 400, 422, 404]
    for i, (expected, got) in enumerate(zip(flask_answers, fast_answers, strict=True)):
        assert got == expected, f"request {i}"
    assert fast_lines == flask_lines
    assert fast_counted == flask_counted
    assert _stored(twins["fast"]) == _stored(twins["flask"])
    assert len(_stored(twins["fast"])) == 5  # kirim, flagged kirim, koreksi, psu, the +json kirim
    # The fast path answered the JSON writes itself; Flask only the 415, the 413 and the stray slash.
    assert paths["flask"].reached_flask == len(flask_answers)
    assert paths["fast"].reached_flask == 3


def test_a_locked_region_and_the_rate_limit_answer_alike(app, issue, tps_pool):
    desa, tps = tps_pool()
    kecamatan = desa[:6]
    lock = Client(app).post(f"/api/v1/wilayah/{kecamatan}/kunci",
                            headers={"Authorization": f"Bearer {issue('ppk', kecamatan)}"})
    assert lock.status_code == 201, lock.get_data(as_text=True)
    try:
        good = sintetis.hasil("3517011001001", PASLON)
        answers = {}
        for name, wsgi, kode in (("flask", app.wsgi_app.flask, tps[0]), ("fast", app.wsgi_app, tps[1])):
            client, token = Client(wsgi), issue("kpps", kode)
            sent = [client.post(f"/api/v1/hasil/ppwp/{kode}", json=good,
                                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"k{i}"})
                    for i in range(80)]  # a KPPS may write 30 a minute
            locked = _neutral(sent[0], kode)
            limited = next(_neutral(r, kode) for r in sent if r.status_code == 429)
            answers[name] = locked, limited
        assert answers["fast"] == answers["flask"]
        assert answers["fast"][0][0] == 409 and "WILAYAH_DIKUNCI" in answers["fast"][0][1]
        assert ("Retry-After", "60") in answers["fast"][1][2]
    finally:
        unlock = Client(app).delete(f"/api/v1/wilayah/{kecamatan}/kunci",
                                    headers={"Authorization": f"Bearer {issue('kpu_kab', '3517')}"})
        assert unlock.status_code == 200


def test_the_fast_path_refuses_to_start_without_its_rules():
    bare = Flask("bare")
    bare.config["MAX_CONTENT_LENGTH"] = BODY_LIMIT
    bare.extensions["rekap.limits"] = None
    with pytest.raises(RuntimeError, match="hasil.HasilTps"):
        fastpath.FastPath(bare, "intake")
