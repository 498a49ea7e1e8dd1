"""The access log: one JSON line per request, written without the logging module's
per-record work when `configure_logging` set it up, and the same line either way."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from serve_app.logs import ACCESS_LOGGER, AccessLog, JsonFormatter, _timestamp, configure_logging
from serve_app.middleware import HttpMetrics, RequestContextMiddleware


@pytest.fixture
def restore_logging():
    """configure_logging changes process-wide loggers: put them back afterwards."""
    root, access = logging.getLogger(), logging.getLogger(ACCESS_LOGGER)
    saved = (list(root.handlers), root.level, list(access.handlers), access.propagate, logging.getLogRecordFactory())
    yield
    for handler in root.handlers + access.handlers:
        if handler not in saved[0] + saved[2]:
            handler.close()
    root.handlers[:], access.handlers[:] = saved[0], saved[2]
    root.setLevel(saved[1])
    access.propagate = saved[3]
    logging.setLogRecordFactory(saved[4])


def lines(path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_text().splitlines()]


def test_the_line_is_what_the_json_formatter_writes(tmp_path, restore_logging):
    log_file = tmp_path / "commerce.jsonl"
    configure_logging("INFO", log_file)
    AccessLog().request("POST", "/api/orders", 409, 1.25, "req-1")
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "%s %s %s", ("POST", "/api/orders", 409),
                               None)
    for name, value in {"route": "/api/orders", "method": "POST", "status": 409, "latency_ms": 1.25,
                        "request_id": "req-1"}.items():
        setattr(record, name, value)
    expected = orjson.loads(JsonFormatter().format(record))
    (written,) = lines(log_file)
    assert written.pop("time")[:16] == expected.pop("time")[:16]  # same format, to the minute
    assert written == expected
    assert list(orjson.loads(log_file.read_text()).keys())[:5] == ["time", "level", "logger", "request_id", "message"]


def test_it_makes_no_log_record_when_configured(tmp_path, restore_logging):
    """The direct path is the point: Ray's record factory and LogRecord cost more than the line."""
    configure_logging("INFO", tmp_path / "commerce.jsonl")
    made = []
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(lambda *args, **kwargs: made.append(args[0]) or factory(*args, **kwargs))
    AccessLog().request("GET", "/healthz", 200, 0.5, "req-2")
    assert made == []
    assert len(lines(tmp_path / "commerce.jsonl")) == 1


def test_below_its_level_nothing_is_written(tmp_path, restore_logging):
    configure_logging("WARNING", tmp_path / "commerce.jsonl")
    AccessLog().request("GET", "/healthz", 200, 0.5, "req-3")
    assert lines(tmp_path / "commerce.jsonl") == []


def test_any_other_set_up_goes_through_logging(caplog):
    logger = logging.getLogger("commerce.access.test")  # propagates to caplog's handler
    with caplog.at_level(logging.INFO, logger=logger.name):
        AccessLog(logger.name).request("GET", "/healthz", 200, 0.5, "req-4")
    (record,) = caplog.records
    assert record.getMessage() == "GET /healthz 200"
    assert (record.route, record.status, record.latency_ms, record.request_id) == ("/healthz", 200, 0.5, "req-4")


def test_the_timestamp_matches_datetimes_own_isoformat():
    moments = [random.uniform(0, 2e9) for _ in range(20_000)]
    moments += [1816618732.425, 1_700_000_000.9999995, 1_700_000_000.0005, 1_700_000_000.0]
    for moment in moments:
        assert _timestamp(moment) == datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds"), moment


async def test_the_middleware_logs_and_counts_every_request(tmp_path, restore_logging):
    configure_logging("INFO", tmp_path / "commerce.jsonl")

    async def hello(request):
        return PlainTextResponse("hi", status_code=202)

    registry = CollectorRegistry()
    app = RequestContextMiddleware(Starlette(routes=[Route("/hello/{name}", hello)]), HttpMetrics(registry))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        responses = [await client.get(f"/hello/{name}") for name in ("you", "me")]
    written = [line for line in lines(tmp_path / "commerce.jsonl") if line["logger"] == ACCESS_LOGGER]
    assert [(line["method"], line["route"], line["status"]) for line in written] == [("GET", "/hello/{name}", 202)] * 2
    assert [line["request_id"] for line in written] == [r.headers["x-request-id"] for r in responses]
    assert all(line["latency_ms"] >= 0 for line in written)
    labels = {"method": "GET", "route": "/hello/{name}"}
    assert registry.get_sample_value("commerce_http_requests_total", {**labels, "status": "202"}) == 2
    assert registry.get_sample_value("commerce_http_request_duration_seconds_count", labels) == 2


def test_a_failing_write_is_handled_the_way_logging_handles_it(tmp_path, restore_logging, monkeypatch):
    """A full disk must not turn an answered request into an error: logging reports it on stderr."""
    configure_logging("INFO", tmp_path / "commerce.jsonl")
    (handler,) = logging.getLogger(ACCESS_LOGGER).handlers

    def full_disk(line):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(handler.stream, "write", full_disk)
    reported = []
    monkeypatch.setattr(handler, "handleError", lambda record: reported.append(record.getMessage()))
    AccessLog().request("GET", "/healthz", 200, 0.5, "req-5")  # does not raise
    assert reported == ["GET /healthz 200"]
