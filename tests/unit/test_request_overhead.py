"""Per-request work the ingress does not do: each of these was a measured share of a
sold-out refusal's CPU (README "Speed")."""

from __future__ import annotations

from pathlib import Path

import httpx
import opentelemetry.trace
import yaml
from starlette.routing import Match

from config import Settings
from serve_app.app import create_app
from serve_app.deployments import Ingress

RAYSERVICE = Path(__file__).resolve().parents[2] / "deploy" / "kuberay" / "rayservice.yaml"


def tries_until_matched(app, method: str, path: str) -> int:
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}
    for tries, route in enumerate(app.router.routes, start=1):
        if route.matches(scope)[0] == Match.FULL:
            return tries
    raise AssertionError(f"{method} {path} matches no route")


def test_the_checkout_is_matched_right_after_health(tmp_path):
    app = create_app(Settings(state_dir=tmp_path, jwt_secret="k" * 40))
    health = tries_until_matched(app, "GET", "/healthz")
    assert tries_until_matched(app, "POST", "/api/orders") == health + 1
    # Moving orders first shadows nothing: every other route still matches where it did.
    assert tries_until_matched(app, "GET", "/api/orders/abc/payments") > health + 1
    assert tries_until_matched(app, "GET", "/api/products") > health + 1


async def test_the_app_never_asks_opentelemetry_per_request(tmp_path, monkeypatch):
    """FastAPI's native telemetry is off: no OTel provider lookups on the hot path."""
    app = create_app(Settings(state_dir=tmp_path, jwt_secret="k" * 40))

    def refuse():
        raise AssertionError("a request consulted the OpenTelemetry tracer provider")

    monkeypatch.setattr(opentelemetry.trace, "get_tracer_provider", refuse)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/healthz")).status_code == 200


def test_serve_writes_no_second_access_log():
    """The app's JSON access log is the one access log, locally and on KubeRay."""
    assert Ingress.logging_config["enable_access_log"] is False
    rayservice = next(doc for doc in yaml.safe_load_all(RAYSERVICE.read_text())
                      if doc and doc.get("kind") == "RayService")
    (app,) = yaml.safe_load(rayservice["spec"]["serveConfigV2"])["applications"]
    assert app["logging_config"]["enable_access_log"] is False
