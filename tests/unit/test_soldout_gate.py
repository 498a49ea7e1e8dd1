"""The sold-out gate answers only what it is sure of; everything else reaches the route intact."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from config import Settings
from serve_app.identity.tokens import Principal, TokenService
from serve_app.orders.schemas import CheckoutRequest
from serve_app.orders.soldout import SoldOutMemory
from serve_app.orders import soldout_gate
from serve_app.orders.soldout_gate import SoldOutGate

GONE = str(uuid.uuid4())
IN_STOCK = str(uuid.uuid4())


@dataclass
class Verdicts:
    """The revocation verdict the gate asks for: True, False or None (ask the database)."""

    answer: bool | None = True
    asked: list[Principal] = field(default_factory=list)

    def verdict(self, principal: Principal) -> bool | None:
        self.asked.append(principal)
        return self.answer


@dataclass
class FakeServices:
    tokens: TokenService
    revocations: Verdicts
    sold_out: SoldOutMemory


@pytest.fixture
def route_calls() -> list[bytes]:
    return []


@pytest.fixture
def app(tokens, route_calls) -> Starlette:
    async def the_route(request: Request):  # stands in for POST /api/orders: records what reached it
        route_calls.append(await request.body())
        return JSONResponse({"from": "route"}, status_code=201)

    app = Starlette(routes=[Route("/api/orders", the_route, methods=["POST"])], middleware=[Middleware(SoldOutGate)])
    memory = SoldOutMemory(ttl_s=60)
    memory.remember(GONE)
    memory.holders_known(GONE, ())  # read: no order holds it
    app.state.services = FakeServices(tokens=tokens, revocations=Verdicts(), sold_out=memory)
    return app


@pytest.fixture
def shopper(tokens) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.issue(str(uuid.uuid4()), 'shopper')}"}


async def post(app, body, headers=None, path="/api/orders", method="POST", raw: bytes | None = None):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        content = raw if raw is not None else orjson.dumps(body)
        return await client.request(method, path, content=content,
                                    headers={"Content-Type": "application/json", **(headers or {})})


def items(*pairs):
    return {"items": [{"product_id": pid, "quantity": q} for pid, q in pairs]}


async def test_a_sold_out_checkout_is_refused_without_reaching_the_route(app, shopper, route_calls):
    response = await post(app, items((GONE, 2)), {**shopper, "Idempotency-Key": "k-1"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "out_of_stock"
    assert error["details"] == {"items": [{"product_id": GONE, "requested": 2, "available": 0,
                                           "reason": "out_of_stock"}]}
    assert route_calls == []


async def test_any_sold_out_line_refuses_the_whole_order(app, shopper, route_calls):
    response = await post(app, items((IN_STOCK, 1), (GONE, 1), (GONE.upper(), 1)), shopper)
    assert response.status_code == 409
    assert response.json()["error"]["details"]["items"] == [
        {"product_id": GONE, "requested": 2, "available": 0, "reason": "out_of_stock"}]  # ids merged like the route
    assert route_calls == []


@pytest.mark.parametrize("case", [
    "no token", "bad token", "seller", "revocation undecided", "revoked", "key too long", "empty key",
    "invalid body", "malformed json", "cart checkout", "in stock", "not a uuid",
])
async def test_everything_else_reaches_the_route_with_its_body(app, tokens, shopper, route_calls, case):
    body, headers = items((GONE, 1)), dict(shopper)
    if case == "no token":
        headers = {}
    elif case == "bad token":
        headers = {"Authorization": "Bearer not-a-jwt"}
    elif case == "seller":
        headers = {"Authorization": f"Bearer {tokens.issue(str(uuid.uuid4()), 'seller')}"}
    elif case == "revocation undecided":
        app.state.services.revocations.answer = None
    elif case == "revoked":
        app.state.services.revocations.answer = False
    elif case == "key too long":
        headers["Idempotency-Key"] = "k" * 201
    elif case == "empty key":
        headers["Idempotency-Key"] = ""
    elif case == "invalid body":
        body = {"items": [{"product_id": GONE, "quantity": 0}]}
    elif case == "cart checkout":
        body = {}
    elif case == "in stock":
        body = items((IN_STOCK, 1))
    elif case == "not a uuid":
        body = items(("sku-1", 1), (GONE, 1))
    raw = b'{"items": [' if case == "malformed json" else orjson.dumps(body)
    response = await post(app, None, headers, raw=raw)
    assert response.status_code == 201 and response.json() == {"from": "route"}
    assert route_calls == [raw]


async def test_nothing_remembered_means_the_body_is_not_even_read(app, shopper, route_calls):
    app.state.services.sold_out = SoldOutMemory()
    app.state.services.revocations.answer = True
    response = await post(app, items((GONE, 1)), shopper)
    assert response.status_code == 201
    assert app.state.services.revocations.asked == []


async def test_a_large_body_goes_to_the_route(app, shopper, route_calls):
    raw = orjson.dumps(items((GONE, 1))) + b" " * 20_000  # valid JSON, sold out, but not small
    response = await post(app, None, shopper, raw=raw)
    assert response.status_code == 201
    assert route_calls == [raw]


async def test_other_paths_and_methods_pass(app, shopper, route_calls):
    response = await post(app, items((GONE, 1)), shopper, method="PUT")
    assert response.status_code == 405
    assert app.state.services.revocations.asked == []


def test_the_app_puts_the_gate_inside_the_request_context(tmp_path):
    from serve_app.app import create_app
    from serve_app.middleware import RequestContextMiddleware

    app = create_app(Settings(state_dir=tmp_path, jwt_secret="k" * 40))
    order = [m.cls for m in app.user_middleware]  # outermost first
    assert order.index(RequestContextMiddleware) < order.index(SoldOutGate)


async def test_the_retry_of_an_order_that_holds_the_product_reaches_the_route(app, tokens, route_calls):
    """Its first answer was a 201: the route (through the order) gives it again, not a 409."""
    from serve_app.orders.checkout import order_id_for

    token = tokens.issue(str(uuid.uuid4()), "shopper")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-held"}
    held = order_id_for(tokens.verify(token), "k-held")
    app.state.services.sold_out.holders_known(GONE, {held})
    response = await post(app, items((GONE, 1)), headers)
    assert response.status_code == 201 and response.json() == {"from": "route"}
    refused = await post(app, items((GONE, 1)), {**headers, "Idempotency-Key": "k-other"})
    assert refused.status_code == 409  # another key of the same shopper is a new order


async def test_while_the_holders_are_being_read_a_keyed_checkout_reaches_the_route(app, shopper, route_calls):
    memory = SoldOutMemory(ttl_s=60)
    memory.remember(GONE)  # holders not known yet
    app.state.services.sold_out = memory
    assert (await post(app, items((GONE, 1)), {**shopper, "Idempotency-Key": "k-2"})).status_code == 201
    assert (await post(app, items((GONE, 1)), shopper)).status_code == 409  # no key: a new order


async def test_a_body_seen_before_is_not_validated_again(app, shopper, route_calls, monkeypatch):
    """A flash sale's checkouts send the same bytes: the gate parses them once."""
    soldout_gate._explicit_items.cache_clear()
    validated = []
    validate = CheckoutRequest.model_validate_json
    monkeypatch.setattr(CheckoutRequest, "model_validate_json",
                        classmethod(lambda cls, raw: validated.append(raw) or validate(raw)))
    body = items((GONE, 1), (GONE.upper(), 2))
    for key in ("k-1", "k-2", "k-3"):
        response = await post(app, body, {**shopper, "Idempotency-Key": key})
        assert response.status_code == 409
        assert response.json()["error"]["details"]["items"][0]["requested"] == 3  # merged, every time
    assert validated == [orjson.dumps(body)]
    assert route_calls == []
