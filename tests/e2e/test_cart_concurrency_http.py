"""Concurrent cart writes over HTTP: no lost update, the cap and the one currency still hold."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.e2e.test_cart_http import cart, new_product, quantities, shopper  # noqa: F401  (fixture)


async def _post_all(system, headers: dict, bodies: list[dict]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=system.base_url, timeout=60, headers=headers) as client:
        return await asyncio.gather(*(client.post("/api/cart/items", json=body) for body in bodies))


async def test_twenty_concurrent_adds_of_one_unit_end_at_twenty(system, http, shopper):
    product = await new_product(system)
    responses = await _post_all(system, shopper.headers, [{"product_id": product, "quantity": 1}] * 20)
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses if r.status_code != 201]
    assert quantities(cart(http, shopper)) == {product: 20}


async def test_concurrent_adds_never_pass_the_cap(system, http, shopper):
    product = await new_product(system)
    responses = await _post_all(system, shopper.headers, [{"product_id": product, "quantity": 10}] * 12)
    outcomes = Counter(r.status_code for r in responses)
    assert outcomes == {201: 9, 422: 3}
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 422} == {"quantity_too_large"}
    assert quantities(cart(http, shopper)) == {product: 90}


async def test_concurrent_adds_in_two_currencies_leave_one(system, http, shopper):
    dollars = [await new_product(system) for _ in range(4)]
    euros = [await new_product(system, currency="EUR") for _ in range(4)]
    bodies = [{"product_id": p, "quantity": 1} for pair in zip(dollars, euros) for p in pair]
    responses = await _post_all(system, shopper.headers, bodies)

    view = cart(http, shopper)
    currencies = {line["price_when_added"]["currency"] for line in view["items"]}
    assert len(currencies) == 1
    winners = dollars if currencies == {"USD"} else euros
    assert set(quantities(view)) == set(winners)
    refused = [r for r in responses if r.status_code != 201]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(409, "currency_mismatch")] * 4
