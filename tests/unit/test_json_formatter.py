"""guard.JsonFormatter: one JSON object per log line, whatever the record holds."""

import json
import logging
import time

from shared.guard import JsonFormatter


def _record(message: str, **rincian) -> logging.LogRecord:
    record = logging.LogRecord("rekap.access", logging.INFO, __file__, 1, message, None, None)
    record.rincian = rincian
    return record


def test_a_line_holds_the_time_level_logger_message_and_details():
    record = _record("request", service="intake", status=201, token=None, ms=3.2, path="/api/v1/hasil/ppwp/ü")
    line = json.loads(JsonFormatter().format(record))
    assert line == {"waktu": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)), "level": "INFO",
                    "logger": "rekap.access", "pesan": "request", "service": "intake", "status": 201,
                    "token": None, "ms": 3.2, "path": "/api/v1/hasil/ppwp/ü"}


def test_the_time_follows_each_record_across_seconds():
    formatter = JsonFormatter()
    for created in (1_700_000_000.2, 1_700_000_000.9, 1_700_000_001.0, 1_600_000_000.5):
        record = _record("x")
        record.created = created
        assert json.loads(formatter.format(record))["waktu"] == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))


def test_what_orjson_refuses_is_still_one_json_line():
    line = JsonFormatter().format(_record("odd \ud800 text", kunci={1: "a"}))
    assert "\n" not in line and json.loads(line)["kunci"] == {"1": "a"}
    assert json.loads(JsonFormatter().format(_record("plain", kunci={1: "a"})))["kunci"] == {"1": "a"}
