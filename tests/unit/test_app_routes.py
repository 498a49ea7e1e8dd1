"""The order of the app's routes is part of its speed: Ray Serve names every request's route
(for its metrics) by trying the routes in order, and FastAPI routes the same way."""

from __future__ import annotations

from starlette.routing import Match

from config import Settings
from serve_app.app import create_app


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
