"""Checkout and orders over HTTP: the race, all-or-nothing, expiry, cancel, idempotency."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

import httpx
import pytest

from actors.runtime.client import ActorClient
from tests.factories import make_product
from tests.helpers import eventually, users_with_tokens

ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


async def checkout_with_retries(client: httpx.AsyncClient, headers: dict, product: str, attempts: int = 50):
    """What a polite client does: on 429 (admission control), wait and retry with the same key."""
    headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    for _ in range(attempts):
        response = await client.post("/api/orders", headers=headers,
                                     json={"items": [{"product_id": product, "quantity": 1}]})
        if response.status_code != 429:
            return response
        await asyncio.sleep(0.05 * (1 + int(response.headers["retry-after"])))
    return response


def stock_of(http, product_id: str, admin: dict) -> dict:
    return http.get(f"/api/products/{product_id}/stock", headers=admin).json()


@pytest.fixture
async def admin(system) -> dict:
    return (await users_with_tokens(system, "admin", 1))[0][1]


@pytest.fixture
async def shopper(system) -> tuple[str, dict]:
    return (await users_with_tokens(system, "shopper", 1))[0]


async def test_200_shoppers_race_for_50_units(system, http, admin):
    product = await make_product(system.settings.database_url, stock=50)
    shoppers = await users_with_tokens(system, "shopper", 200)

    async with httpx.AsyncClient(base_url=system.base_url, timeout=60) as client:
        responses = await asyncio.gather(*(checkout_with_retries(client, h, product) for _, h in shoppers))
    created = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 409]
    assert len(created) == 50, [r.text for r in responses if r.status_code not in (201, 409)][:3]
    assert len(refused) == 150
    assert all(r.json()["status"] == "AWAITING_PAYMENT" for r in created)
    assert all(r.json()["error"]["code"] == "out_of_stock" for r in refused)
    assert len({r.json()["id"] for r in created}) == 50
    assert stock_of(http, product, admin) == {"available": 0, "reserved": 50, "sold": 0, "received": 50}


async def test_multi_item_order_with_one_short_item_reserves_nothing(system, http, admin, shopper):
    plenty = await make_product(system.settings.database_url, stock=10)
    scarce = await make_product(system.settings.database_url, stock=1)
    response = http.post("/api/orders", headers=shopper[1], json={"items": [
        {"product_id": plenty, "quantity": 2}, {"product_id": scarce, "quantity": 3}]})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "out_of_stock"
    assert [item["product_id"] for item in error["details"]["items"]] == [scarce]
    assert stock_of(http, plenty, admin)["reserved"] == 0
    assert stock_of(http, scarce, admin)["reserved"] == 0


async def test_prices_and_totals_come_from_the_catalog(system, http, shopper):
    product = await make_product(system.settings.database_url, stock=5, price=1250)
    response = http.post("/api/orders", headers=shopper[1], json={
        "items": [{"product_id": product, "quantity": 2}], "shipping_address": ADDRESS})
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["items"][0]["unit_price"] == {"amount": 1250, "currency": "USD"}
    shipping = 0 if 2500 >= system.settings.shipping_free_over_amount else system.settings.shipping_flat_amount
    assert order["totals"] == {
        "subtotal": {"amount": 2500, "currency": "USD"}, "shipping": {"amount": shipping, "currency": "USD"},
        "total": {"amount": 2500 + shipping, "currency": "USD"},
    }
    assert order["shipping_address"]["city"] == "Springfield"
    assert order["expires_at"]


async def test_same_idempotency_key_returns_the_same_order(system, http, admin, shopper):
    product = await make_product(system.settings.database_url, stock=5)
    headers = {**shopper[1], "Idempotency-Key": uuid.uuid4().hex}
    body = {"items": [{"product_id": product, "quantity": 1}]}
    first = http.post("/api/orders", headers=headers, json=body)
    again = http.post("/api/orders", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert stock_of(http, product, admin)["reserved"] == 1
    other = http.post("/api/orders", headers=headers, json={"items": [{"product_id": product, "quantity": 2}]})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert stock_of(http, product, admin)["reserved"] == 1


async def test_cancel_releases_stock_and_a_second_cancel_is_illegal(system, http, admin, shopper):
    product = await make_product(system.settings.database_url, stock=3)
    order = http.post("/api/orders", headers=shopper[1], json={"items": [{"product_id": product, "quantity": 2}]}).json()
    cancelled = http.post(f"/api/orders/{order['id']}/cancel", headers=shopper[1])
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    await eventually(lambda: stock_of(http, product, admin)["reserved"] == 0)
    assert stock_of(http, product, admin)["available"] == 3
    again = http.post(f"/api/orders/{order['id']}/cancel", headers=shopper[1])
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "illegal_transition"
    assert http.get(f"/api/orders/{order['id']}", headers=shopper[1]).json()["status"] == "CANCELLED"


async def test_another_users_order_is_404(system, http, shopper):
    product = await make_product(system.settings.database_url, stock=2)
    order = http.post("/api/orders", headers=shopper[1], json={"items": [{"product_id": product, "quantity": 1}]}).json()
    _, stranger = (await users_with_tokens(system, "shopper", 1))[0]
    assert http.get(f"/api/orders/{order['id']}", headers=stranger).status_code == 404
    refused = http.post(f"/api/orders/{order['id']}/cancel", headers=stranger)
    assert refused.status_code == 404
    assert http.get(f"/api/orders/{order['id']}", headers=shopper[1]).json()["status"] == "AWAITING_PAYMENT"


async def test_hold_expires_and_releases_stock_even_across_a_shard_restart(system, http, admin, shopper):
    product = await make_product(system.settings.database_url, stock=4)
    kept = http.post("/api/orders", headers=shopper[1], json={"items": [{"product_id": product, "quantity": 1}]}).json()
    restarted = http.post("/api/orders", headers=shopper[1], json={"items": [{"product_id": product, "quantity": 2}]}).json()
    assert stock_of(http, product, admin)["reserved"] == 3
    actors = ActorClient(system.settings)
    shard = actors.placement.shard_for(restarted["id"])
    os.kill((await actors.handle(shard).ping.remote())["pid"], signal.SIGKILL)
    timeout = system.settings.order_hold_ttl_s + 30
    for order in (kept, restarted):
        await eventually(lambda order=order: http.get(f"/api/orders/{order['id']}", headers=shopper[1]).json()["status"]
                         == "EXPIRED", timeout_s=timeout)
    await eventually(lambda: stock_of(http, product, admin)["reserved"] == 0, timeout_s=30)
    assert stock_of(http, product, admin)["available"] == 4


@pytest.mark.parametrize("body,status,code", [
    ({"items": []}, 422, "validation_error"),
    ({"items": [{"product_id": "nope", "quantity": 1}]}, 404, "product_not_found"),
    ({"items": [{"product_id": str(uuid.uuid4()), "quantity": 1}]}, 404, "product_not_found"),
    ({"items": [{"product_id": "P", "quantity": 0}]}, 422, "validation_error"),
    ({"items": [{"product_id": "P", "quantity": 1.5}]}, 422, "validation_error"),
    ({"items": [{"product_id": "P", "quantity": 100}]}, 422, "quantity_too_large"),
    ({"items": [{"product_id": "P", "quantity": 1}], "total": 1}, 422, "validation_error"),
    ({"items": [{"product_id": "P", "quantity": 1}], "shipping_address_id": str(uuid.uuid4())}, 404, "address_not_found"),
])
async def test_bad_checkout_is_refused_and_reserves_nothing(system, http, admin, shopper, body, status, code):
    product = await make_product(system.settings.database_url, stock=5)
    for item in body.get("items", []):
        if item["product_id"] == "P":
            item["product_id"] = product
    response = http.post("/api/orders", headers=shopper[1], json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert stock_of(http, product, admin)["reserved"] == 0


async def test_only_shoppers_check_out(system, http):
    product = await make_product(system.settings.database_url, stock=5)
    (_, seller), = await users_with_tokens(system, "seller", 1)
    body = {"items": [{"product_id": product, "quantity": 1}]}
    assert http.post("/api/orders", json=body).status_code == 401
    assert http.post("/api/orders", headers=seller, json=body).status_code == 403
