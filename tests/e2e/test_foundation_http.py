"""The HTTP edge: health, readiness naming NATS, error bodies, request ids."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest


def assert_error_body(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert error["message"]
    assert isinstance(error["details"], dict)
    assert error["request_id"] == response.headers["x-request-id"]
    return error


def test_healthz_and_readyz(http):
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["postgres"] == "ok"
    assert ready.json()["checks"]["nats"] == "ok"


def test_unknown_route_is_404_error_body(http):
    assert_error_body(http.get("/no/such/route"), 404, "not_found")


def test_wrong_method_is_405_error_body(http):
    error = assert_error_body(http.delete("/healthz"), 405, "method_not_allowed")
    assert "DELETE" in error["message"]


def test_request_id_is_echoed_once(http):
    response = http.get("/healthz", headers={"X-Request-ID": "trace-abc-123"})
    assert response.headers.get_list("x-request-id") == ["trace-abc-123"]
    generated = http.get("/healthz")
    assert len(generated.headers.get_list("x-request-id")) == 1


def test_metrics_are_prometheus_text(http):
    http.get("/healthz")
    response = http.get("/metrics")
    assert response.status_code == 200
    assert "commerce_http_requests_total" in response.text
    assert 'route="/healthz"' in response.text


def test_openapi_and_docs(http):
    schema = http.get("/openapi.json").json()
    assert "/readyz" in schema["paths"]
    assert http.get("/docs").status_code == 200


def wait_for_status(http, status: int, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = http.get("/readyz")
        if response.status_code == status:
            return response
        time.sleep(0.25)
    raise AssertionError(f"/readyz never answered {status}")


def test_readyz_names_nats_when_it_is_down(system, http):
    if system.nats is None:
        pytest.skip("NATS_URL points at an external server this test cannot stop")
    system.nats.stop()
    try:
        down = wait_for_status(http, 503)
        error = assert_error_body(down, 503, "not_ready")
        assert error["details"]["failed"] == ["nats"]
        assert "nats" in error["message"]
        assert down.headers["retry-after"]
    finally:
        system.nats.start()
    wait_for_status(http, 200)


def test_bad_setting_exits_2_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "serve_app.cli", "up"],
        env={"DATABASE_URL": "mysql://nope", "COMMERCE_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr
