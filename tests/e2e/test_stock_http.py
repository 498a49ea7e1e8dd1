"""Stock endpoints over HTTP: who sees what, restock through the actor, bad input."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from serve_app.identity.tokens import TokenService
from tests.factories import make_product, make_user


@pytest.fixture
async def product(system):
    product_id = await make_product(system.settings.database_url, stock=7)
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        owner = (await (await conn.execute("SELECT seller_id FROM products WHERE id = %s", (product_id,))).fetchone())[0]
    return product_id, str(owner)


@pytest.fixture
def tokens(system) -> TokenService:
    return TokenService(system.settings)


async def bearer_for(system, tokens: TokenService, role: str, user_id: str | None = None) -> dict:
    if user_id is None:
        async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
            user_id = str(await make_user(conn, role))
            await conn.commit()
    return {"Authorization": f"Bearer {tokens.issue(user_id, role)}"}


async def test_anyone_sees_available_owner_sees_everything(http, system, tokens, product):
    product_id, owner = product
    assert http.get(f"/api/products/{product_id}/stock").json() == {"available": 7}
    owner_view = http.get(f"/api/products/{product_id}/stock", headers=await bearer_for(system, tokens, "seller", owner))
    assert owner_view.json() == {"available": 7, "reserved": 0, "sold": 0, "received": 7}
    admin_view = http.get(f"/api/products/{product_id}/stock", headers=await bearer_for(system, tokens, "admin"))
    assert admin_view.json()["received"] == 7
    other = http.get(f"/api/products/{product_id}/stock", headers=await bearer_for(system, tokens, "seller"))
    assert other.json() == {"available": 7}


async def test_restock_is_idempotent_by_key(http, system, tokens, product):
    product_id, owner = product
    headers = {**await bearer_for(system, tokens, "seller", owner), "Idempotency-Key": uuid.uuid4().hex}
    first = http.post(f"/api/products/{product_id}/stock", json={"restock": 5}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"available": 12, "reserved": 0, "sold": 0, "received": 12}
    again = http.post(f"/api/products/{product_id}/stock", json={"restock": 5}, headers=headers)
    assert again.json()["received"] == 12
    fresh = http.post(f"/api/products/{product_id}/stock", json={"restock": 1},
                      headers=await bearer_for(system, tokens, "seller", owner))
    assert fresh.json()["received"] == 13


async def test_restock_is_for_the_owner_or_an_admin(http, system, tokens, product):
    product_id, _ = product
    url = f"/api/products/{product_id}/stock"
    assert http.post(url, json={"restock": 1}).status_code == 401
    shopper = http.post(url, json={"restock": 1}, headers=await bearer_for(system, tokens, "shopper"))
    assert shopper.status_code == 403
    other_seller = http.post(url, json={"restock": 1}, headers=await bearer_for(system, tokens, "seller"))
    assert other_seller.status_code == 404
    assert other_seller.json()["error"]["code"] == "product_not_found"
    admin = http.post(url, json={"restock": 1}, headers=await bearer_for(system, tokens, "admin"))
    assert admin.status_code == 200 and admin.json()["received"] == 8


@pytest.mark.parametrize("body", [
    {"restock": 0}, {"restock": -3}, {"restock": 10_001}, {"restock": "5"}, {"restock": 1.5},
    {"restock": 2, "extra": True}, {},
])
async def test_bad_restock_is_422_and_changes_nothing(http, system, tokens, product, body):
    product_id, owner = product
    response = http.post(f"/api/products/{product_id}/stock", json=body,
                         headers=await bearer_for(system, tokens, "seller", owner))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert http.get(f"/api/products/{product_id}/stock").json() == {"available": 7}


async def test_unknown_or_malformed_product_is_404(http):
    for product_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = http.get(f"/api/products/{product_id}/stock")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "product_not_found"
