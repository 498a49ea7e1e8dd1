"""Flash-sale rules over HTTP: the window, the sale price, the per-shopper limit, admission control."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from actors.runtime.client import ActorClient
from tests.factories import make_product
from tests.helpers import users_with_tokens


async def product_with_owner(system, stock: int, price: int = 1000) -> tuple[str, dict]:
    product = await make_product(system.settings.database_url, stock=stock, price=price)
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        owner = str((await (await conn.execute("SELECT seller_id FROM products WHERE id = %s", (product,))).fetchone())[0])
    from serve_app.identity.tokens import TokenService

    return product, {"Authorization": f"Bearer {TokenService(system.settings).issue(owner, 'seller')}"}


def sale_body(start: timedelta, end: timedelta, price: int = 500, limit: int | None = None) -> dict:
    now = datetime.now(UTC)
    body = {"starts_at": (now + start).isoformat(), "ends_at": (now + end).isoformat(),
            "price": {"amount": price, "currency": "USD"}}
    if limit:
        body["per_shopper_limit"] = limit
    return body


def buy(http, headers: dict, product: str, quantity: int = 1):
    return http.post("/api/orders", headers=headers, json={"items": [{"product_id": product, "quantity": quantity}]})


async def test_sale_window_and_price(system, http):
    product, owner = await product_with_owner(system, stock=10, price=1000)
    (_, shopper), = await users_with_tokens(system, "shopper", 1)
    later = http.put(f"/api/products/{product}/sale", headers=owner, json=sale_body(timedelta(hours=1), timedelta(hours=2)))
    assert later.status_code == 200 and later.json()["active"] is False
    refused = buy(http, shopper, product)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "sale_not_active"

    running = http.put(f"/api/products/{product}/sale", headers=owner, json=sale_body(-timedelta(minutes=1), timedelta(hours=1)))
    assert running.json()["active"] is True
    order = buy(http, shopper, product)
    assert order.status_code == 201, order.text
    assert order.json()["items"][0]["unit_price"] == {"amount": 500, "currency": "USD"}

    ended = http.delete(f"/api/products/{product}/sale", headers=owner)
    assert ended.status_code == 200 and ended.json()["active"] is False
    after = buy(http, shopper, product)
    assert after.status_code == 409 and after.json()["error"]["code"] == "sale_not_active"
    assert http.get(f"/api/products/{product}/stock", headers=owner).json()["reserved"] == 1


async def test_only_the_owner_sets_a_sale_and_bad_windows_are_refused(system, http):
    product, owner = await product_with_owner(system, stock=1)
    (_, other), = await users_with_tokens(system, "seller", 1)
    body = sale_body(timedelta(0), timedelta(hours=1))
    assert http.put(f"/api/products/{product}/sale", headers=other, json=body).status_code == 404
    backwards = http.put(f"/api/products/{product}/sale", headers=owner, json=sale_body(timedelta(hours=1), timedelta(0)))
    assert backwards.status_code == 422 and backwards.json()["error"]["code"] == "invalid_sale_window"
    euros = {**body, "price": {"amount": 1, "currency": "EUR"}}
    assert http.put(f"/api/products/{product}/sale", headers=owner, json=euros).json()["error"]["code"] == "currency_mismatch"
    assert http.get(f"/api/products/{product}/sale").status_code == 404  # nothing was stored


async def test_per_shopper_limit_survives_a_shard_restart(system, http):
    product, owner = await product_with_owner(system, stock=20)
    http.put(f"/api/products/{product}/sale", headers=owner, json=sale_body(-timedelta(minutes=1), timedelta(hours=1), limit=2))
    (_, alice), (_, bob) = await users_with_tokens(system, "shopper", 2)
    assert buy(http, alice, product).status_code == 201
    over = buy(http, alice, product, quantity=2)
    assert over.status_code == 409 and over.json()["error"]["code"] == "purchase_limit_exceeded"
    assert buy(http, bob, product, quantity=2).status_code == 201

    actors = ActorClient(system.settings)
    shard = actors.placement.shard_for(product)
    os.kill((await actors.handle(shard).ping.remote())["pid"], signal.SIGKILL)
    again = buy(http, alice, product, quantity=2)  # the restarted actor reloads what alice holds
    assert again.status_code == 409 and again.json()["error"]["code"] == "purchase_limit_exceeded"
    assert buy(http, alice, product).status_code == 201
    assert http.get(f"/api/products/{product}/stock", headers=owner).json()["reserved"] == 4


async def test_a_burst_beyond_the_queue_bound_is_turned_away_at_once(system):
    """All asks of one batch land in the product's mailbox together: past the bound, RateLimited."""
    from actors.inventory.state import Reserve
    from domain.errors import RateLimited

    product, _ = await product_with_owner(system, stock=10_000)
    actors = ActorClient(system.settings)
    limit = system.settings.admission_queue_limit
    results = await asyncio.gather(
        *(actors.ask("product", product, Reserve(f"burst-{i}", 1)) for i in range(limit * 5)),
        return_exceptions=True,
    )
    busy = [r for r in results if isinstance(r, RateLimited)]
    held = [r for r in results if not isinstance(r, BaseException)]
    assert busy and held and len(busy) + len(held) == len(results)
    assert all(r.code == "busy" and r.retry_after_s >= 1 for r in busy)
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        reserved = (await (await conn.execute(
            "SELECT reserved FROM product_stock WHERE product_id = %s", (product,))).fetchone())[0]
    assert reserved == len(held)  # a turned-away ask holds nothing


async def test_http_checkouts_during_a_burst_get_429_with_retry_after(system):
    from actors.inventory.state import Reserve

    product, owner = await product_with_owner(system, stock=100_000)
    shoppers = await users_with_tokens(system, "shopper", 60)
    actors = ActorClient(system.settings)
    stop = asyncio.Event()

    async def flood() -> None:
        wave = 0
        while not stop.is_set():  # keep the product's mailbox at its bound
            wave += 1
            await asyncio.gather(*(actors.ask("product", product, Reserve(f"flood-{wave}-{i}", 1))
                                   for i in range(200)), return_exceptions=True)

    flooding = asyncio.create_task(flood())
    async with httpx.AsyncClient(base_url=system.base_url, timeout=60) as client:
        responses = []
        try:
            for _ in range(10):  # bounded: at most 10 rounds of knocking
                responses += await asyncio.gather(*(
                    client.post("/api/orders", headers=h, json={"items": [{"product_id": product, "quantity": 1}]})
                    for _, h in shoppers
                ))
                if any(r.status_code == 429 for r in responses):
                    break
        finally:
            stop.set()
            await flooding
        stock = (await client.get(f"/api/products/{product}/stock", headers=owner)).json()
    busy = [r for r in responses if r.status_code == 429]
    assert busy, f"no 429 among {sorted({r.status_code for r in responses})}"
    error = busy[0].json()["error"]
    assert error["code"] == "busy" and int(busy[0].headers["retry-after"]) >= 1
    assert {r.status_code for r in responses} <= {201, 429}
    assert stock["available"] + stock["reserved"] + stock["sold"] == stock["received"]


def _sold_out_refusals_counted(http) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("commerce_http_requests_total{") and 'route="/api/orders"' in line and 'status="409"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_once_sold_out_the_gate_answers_before_routing_and_the_rest_still_reaches_the_route(system, http):
    product, owner = await product_with_owner(system, stock=1)
    (_, first), (_, second) = await users_with_tokens(system, "shopper", 2)
    assert buy(http, first, product).status_code == 201
    by_actor = buy(http, second, product)  # the route asks the ProductActor: 0 left, remembered
    assert by_actor.status_code == 409 and "order_id" in by_actor.json()["error"]["details"]
    counted = _sold_out_refusals_counted(http)

    by_gate = buy(http, second, product)
    assert by_gate.status_code == 409, by_gate.text
    error = by_gate.json()["error"]
    assert error["code"] == "out_of_stock" and "order_id" not in error["details"]  # no order was opened
    assert error["request_id"] == by_gate.headers["X-Request-ID"]
    assert _sold_out_refusals_counted(http) == counted + 1  # logged and counted under the route
    # Answered at Serve's edge (serve_app/serve_hooks.py), before Serve's per-request
    # work: the id is the app's own (hex), not one Serve made (a UUID string, as the route's).
    assert "-" in by_actor.headers["X-Request-ID"] and "-" not in by_gate.headers["X-Request-ID"]

    # What the gate is not sure of goes on to the route: its 401 and 403, not a 409.
    no_token = http.post("/api/orders", json={"items": [{"product_id": product, "quantity": 1}]})
    assert no_token.status_code == 401
    assert buy(http, owner, product).status_code == 403


async def test_a_retry_of_a_placed_order_gets_its_order_even_once_the_product_is_remembered_sold_out(system, http):
    """The same key and body return the first answer: a shopper whose 201 was lost and who
    retries after the product sold out must get the order, not the replica's sold-out 409."""
    product, _ = await product_with_owner(system, stock=1)
    (_, winner), (_, other) = await users_with_tokens(system, "shopper", 2)
    keyed = {**winner, "Idempotency-Key": uuid.uuid4().hex}
    first = buy(http, keyed, product)
    assert first.status_code == 201
    assert buy(http, other, product).status_code == 409  # sold out, now remembered by the replica
    assert buy(http, other, product).status_code == 409  # answered from that memory
    again = buy(http, keyed, product)
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
