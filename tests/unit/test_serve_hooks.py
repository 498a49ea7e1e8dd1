"""The middleware Ray Serve puts in front of the ingress replicas' HTTP servers
(serve_app/serve_hooks.py): every request runs to its end, and the sold-out edge."""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field

import httpx
import orjson
import pytest
from prometheus_client import CollectorRegistry
from ray._common.utils import import_attr
from ray.serve._private.http_util import validate_http_proxy_callback_return
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from serve_app import serve_hooks
from serve_app.deployments import Ingress
from serve_app.identity.tokens import TokenService
from serve_app.middleware import HttpMetrics
from serve_app.orders.soldout import SoldOutMemory

GONE = str(uuid.uuid4())


def test_the_ingress_replicas_are_told_where_the_hook_is():
    path = Ingress.ray_actor_options["runtime_env"]["env_vars"]["RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"]
    # What Serve does with it when the replica's HTTP server starts:
    middlewares = validate_http_proxy_callback_return(import_attr(path)())
    assert [m.cls for m in middlewares] == [serve_hooks.FinishEveryRequest, serve_hooks.SoldOutEdge]


async def test_every_request_is_marked_to_run_to_its_end():
    async def headers(request: Request):
        return JSONResponse([[k, v] for k, v in request.headers.items() if k.startswith("x-request-disconnect")])

    app = serve_hooks.FinishEveryRequest(Starlette(routes=[Route("/", headers)]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        plain = (await client.get("/")).json()
        overridden = (await client.get("/", headers={"X-Request-Disconnect-Disabled": "?0"})).json()
    assert plain == overridden == [["x-request-disconnect-disabled", "?1"]]


class AlwaysValid:
    def verdict(self, principal) -> bool:
        return True


@dataclass
class ReplicaServices:
    tokens: TokenService
    revocations: AlwaysValid = field(default_factory=AlwaysValid)
    sold_out: SoldOutMemory = field(default_factory=lambda: SoldOutMemory(ttl_s=60))
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self):
        self.metrics = HttpMetrics(self.registry)
        self.sold_out.remember(GONE)
        self.sold_out.holders_known(GONE, ())


@pytest.fixture
def services(tokens) -> ReplicaServices:
    return ReplicaServices(tokens)


@pytest.fixture
def behind_edge():
    """Serve's side of the edge: records what reached it."""
    reached: list[bytes] = []

    async def serve_and_app(scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        reached.append(body)
        await JSONResponse({"from": "serve"}, status_code=201)(scope, receive, send)

    return serve_hooks.SoldOutEdge(serve_and_app), reached


async def checkout(app, token: str, product_id: str = GONE) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.post("/api/orders", content=orjson.dumps({"items": [{"product_id": product_id,
                                                                                 "quantity": 1}]}),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


async def test_the_edge_answers_a_sold_out_checkout_in_the_apps_request_context(services, behind_edge, tokens):
    edge, reached = behind_edge
    with serve_hooks.serving(services):
        response = await checkout(edge, tokens.issue(str(uuid.uuid4()), "shopper"))
    assert response.status_code == 409 and reached == []
    error = response.json()["error"]
    assert error["code"] == "out_of_stock"
    assert error["request_id"] == response.headers["x-request-id"]
    labels = {"method": "POST", "route": "/api/orders", "status": "409"}
    assert services.registry.get_sample_value("commerce_http_requests_total", labels) == 1


async def test_anything_else_goes_on_to_serve_with_its_body(services, behind_edge, tokens):
    edge, reached = behind_edge
    token = tokens.issue(str(uuid.uuid4()), "shopper")
    with serve_hooks.serving(services):
        in_stock = await checkout(edge, token, product_id=str(uuid.uuid4()))
    assert in_stock.status_code == 201 and len(reached) == 1 and GONE not in reached[0].decode()
    # No app running (before its lifespan, or after): the edge answers nothing.
    assert (await checkout(edge, token)).status_code == 201
    assert len(reached) == 2 and GONE in reached[1].decode()


async def test_the_edge_answers_only_on_the_apps_own_loop(services, behind_edge, tokens):
    """Serve may run the app on a thread of its own: the memory is not shared across threads."""
    edge, reached = behind_edge
    token = tokens.issue(str(uuid.uuid4()), "shopper")
    answers = []
    with serve_hooks.serving(services):
        thread = threading.Thread(target=lambda: answers.append(asyncio.run(checkout(edge, token)).status_code))
        thread.start()
        thread.join()
    assert answers == [201] and len(reached) == 1
