"""The API answers JSON through its own orjson response class, not FastAPI's
deprecated ORJSONResponse."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import httpx
from fastapi.exceptions import FastAPIDeprecationWarning

from config import Settings
from serve_app.app import create_app
from serve_app.responses import OrjsonResponse


async def test_routes_answer_without_fastapi_deprecations(tmp_path):
    app = create_app(Settings(state_dir=tmp_path, jwt_secret="k" * 40))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FastAPIDeprecationWarning)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


def test_orjson_response_encodes_what_views_hold():
    at = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    body = OrjsonResponse({"at": at, "by_id": {1: "a"}, "name": "café"}).body
    assert body == '{"at":"2026-11-22T07:00:00+00:00","by_id":{"1":"a"},"name":"café"}'.encode()
