"""Products over HTTP: create, read, change with ETags, archive, and their events.

Also holds the catalog test helpers the other catalog test modules import:
users are made with `tests.factories.make_user` and given tokens by the
session's token service, so these tests need no identity endpoints.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
import pytest

from serve_app.identity.tokens import TokenService
from tests.e2e.test_foundation_http import assert_error_body
from tests.factories import make_user


@dataclass(frozen=True)
class Actor:
    id: str
    headers: dict[str, str]


async def new_actor(system, role: str) -> Actor:
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        user_id = str(await make_user(conn, role))
        await conn.commit()
    token = TokenService(system.settings).issue(user_id, role)
    return Actor(user_id, {"Authorization": f"Bearer {token}"})


@pytest.fixture
async def seller(system) -> Actor:
    return await new_actor(system, "seller")


@pytest.fixture
async def other_seller(system) -> Actor:
    return await new_actor(system, "seller")


@pytest.fixture
async def admin(system) -> Actor:
    return await new_actor(system, "admin")


@pytest.fixture
async def shopper(system) -> Actor:
    return await new_actor(system, "shopper")


@pytest.fixture
def category(http, admin, unique) -> str:
    """A category of this test's own, so listings by category see only this test's products."""
    slug = f"cat-{unique}"
    response = http.post("/api/categories", json={"slug": slug, "name": f"Category {unique}"}, headers=admin.headers)
    assert response.status_code == 201, response.text
    return slug


def product_body(category: str, /, **overrides) -> dict:
    body = {
        "sku": f"SKU-{uuid.uuid4().hex[:10]}", "name": "Desk lamp", "description": "A warm light for reading",
        "price": {"amount": 1999, "currency": "USD"}, "category": category,
    }
    body.update(overrides)
    return body


def create(http, actor: Actor, category: str, **overrides) -> dict:
    response = http.post("/api/products", json=product_body(category, **overrides), headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


def sql(system, query: str, params=()) -> list[tuple]:
    with psycopg.connect(system.settings.database_url) as conn:
        return conn.execute(query, params).fetchall()


def products_of(system, seller_id: str) -> int:
    return sql(system, "SELECT count(*) FROM products WHERE seller_id = %s", (seller_id,))[0][0]


def events_of(system, product_id: str) -> list[tuple[str, dict]]:
    return sql(system, "SELECT type, data FROM outbox WHERE aggregate_type = 'product' AND aggregate_id = %s "
                       "ORDER BY sequence", (product_id,))


# Create and read ---------------------------------------------------------------


def test_seller_creates_a_product_with_initial_stock(system, http, seller, category):
    body = product_body(category, attributes={"color": "brass", "watts": 40, "dims": {"h": 45.5}}, stock=12)
    response = http.post("/api/products", json=body, headers=seller.headers)
    assert response.status_code == 201, response.text
    product = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/api/products/{product['id']}"
    assert product["seller_id"] == seller.id
    assert product["price"] == {"amount": 1999, "currency": "USD"}
    assert product["attributes"] == {"color": "brass", "watts": 40, "dims": {"h": 45.5}}
    assert (product["status"], product["version"], product["available"]) == ("active", 1, 12)
    assert product["created_at"].endswith("Z")

    fetched = http.get(f"/api/products/{product['id']}")
    assert fetched.status_code == 200
    assert fetched.headers["etag"] == '"1"'
    assert fetched.json() == product
    assert sql(system, "SELECT received, reserved, sold FROM product_stock WHERE product_id = %s",
               (product["id"],)) == [(12, 0, 0)]


def test_stock_defaults_to_zero(http, seller, category):
    product = create(http, seller, category)
    assert http.get(f"/api/products/{product['id']}").json()["available"] == 0


def test_admin_creates_for_a_seller(system, http, admin, seller, shopper, category):
    product = create(http, admin, category, seller_id=seller.id)
    assert product["seller_id"] == seller.id
    assert create(http, admin, category)["seller_id"] == admin.id
    assert create(http, admin, category, seller_id=admin.id)["seller_id"] == admin.id

    for not_a_seller in (str(uuid.uuid4()), shopper.id):
        response = http.post("/api/products", json=product_body(category, seller_id=not_a_seller),
                             headers=admin.headers)
        assert_error_body(response, 422, "unknown_seller")
    assert products_of(system, shopper.id) == 0


def test_seller_cannot_create_for_another_seller(system, http, seller, other_seller, category):
    response = http.post("/api/products", json=product_body(category, seller_id=other_seller.id),
                         headers=seller.headers)
    assert_error_body(response, 403, "forbidden")
    assert products_of(system, other_seller.id) == products_of(system, seller.id) == 0


def test_shopper_and_anonymous_cannot_create(system, http, shopper, category):
    body = product_body(category)
    assert_error_body(http.post("/api/products", json=body, headers=shopper.headers), 403, "forbidden")
    assert_error_body(http.post("/api/products", json=body), 401, "not_authenticated")
    bad_token = {"Authorization": "Bearer not.a.token"}
    assert_error_body(http.post("/api/products", json=body, headers=bad_token), 401, "invalid_token")
    assert sql(system, "SELECT count(*) FROM products WHERE sku = %s", (body["sku"],)) == [(0,)]


def test_duplicate_sku_is_409_per_seller_only(system, http, seller, other_seller, category):
    first = create(http, seller, category, sku="DUP-1")
    again = http.post("/api/products", json=product_body(category, sku="DUP-1"), headers=seller.headers)
    assert_error_body(again, 409, "sku_taken")
    assert products_of(system, seller.id) == 1
    assert create(http, other_seller, category, sku="DUP-1")["id"] != first["id"]


def test_unknown_or_malformed_product_id_is_404(http, seller):
    for product_id in (str(uuid.uuid4()), "not-a-uuid", "1", "bulk"):
        assert_error_body(http.get(f"/api/products/{product_id}"), 404, "not_found")
        patch = http.patch(f"/api/products/{product_id}", json={"name": "x"}, headers=seller.headers)
        assert_error_body(patch, 404, "not_found")
        assert_error_body(http.delete(f"/api/products/{product_id}", headers=seller.headers), 404, "not_found")


# Change with ETags ---------------------------------------------------------------


def test_if_match_fresh_succeeds_and_stale_is_412(http, seller, category):
    product = create(http, seller, category, attributes={"color": "red", "size": "L"})
    url = f"/api/products/{product['id']}"

    fresh = http.patch(url, json={"name": "Floor lamp", "attributes": {"color": "blue"}},
                       headers={**seller.headers, "If-Match": '"1"'})
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["etag"] == '"2"'
    assert fresh.json()["name"] == "Floor lamp"
    assert fresh.json()["attributes"] == {"color": "blue"}  # replaced, not merged

    stale = http.patch(url, json={"name": "Stale write"}, headers={**seller.headers, "If-Match": '"1"'})
    error = assert_error_body(stale, 412, "precondition_failed")
    assert error["details"]["current_etag"] == '"2"'
    current = http.get(url)
    assert current.json()["name"] == "Floor lamp"
    assert current.headers["etag"] == '"2"'

    unconditional = http.patch(url, json={"price": {"amount": 2500, "currency": "EUR"}}, headers=seller.headers)
    assert unconditional.status_code == 200
    assert unconditional.json()["price"] == {"amount": 2500, "currency": "EUR"}
    assert unconditional.json()["version"] == 3


def test_patch_that_changes_nothing_keeps_the_version(system, http, seller, category):
    product = create(http, seller, category)
    response = http.patch(f"/api/products/{product['id']}", json={"name": product["name"], "price": product["price"]},
                          headers=seller.headers)
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert [t for t, _ in events_of(system, product["id"])] == ["PRODUCT_ADDED"]


def test_patch_to_a_taken_sku_is_409(http, seller, category):
    create(http, seller, category, sku="TAKEN-1")
    product = create(http, seller, category)
    response = http.patch(f"/api/products/{product['id']}", json={"sku": "TAKEN-1"}, headers=seller.headers)
    assert_error_body(response, 409, "sku_taken")
    assert http.get(f"/api/products/{product['id']}").json()["sku"] == product["sku"]


@pytest.mark.parametrize("patch, status, code", [
    ({"price": {"amount": 19.99, "currency": "USD"}}, 422, "validation_error"),
    ({"stock": 100}, 422, "validation_error"),
    ({"name": None}, 422, "validation_error"),
    ({}, 422, "validation_error"),
    ({"category": "no-such-category-anywhere"}, 422, "unknown_category"),
])
def test_bad_patches_change_nothing(http, seller, category, patch, status, code):
    product = create(http, seller, category)
    assert_error_body(http.patch(f"/api/products/{product['id']}", json=patch, headers=seller.headers), status, code)
    assert http.get(f"/api/products/{product['id']}").json() == product


def test_only_the_owner_or_an_admin_may_change(http, seller, other_seller, shopper, admin, category):
    product = create(http, seller, category)
    url = f"/api/products/{product['id']}"
    assert_error_body(http.patch(url, json={"name": "Mine now"}, headers=other_seller.headers), 404, "not_found")
    assert_error_body(http.delete(url, headers=other_seller.headers), 404, "not_found")
    assert_error_body(http.patch(url, json={"name": "Mine now"}, headers=shopper.headers), 403, "forbidden")
    assert_error_body(http.patch(url, json={"name": "Mine now"}), 401, "not_authenticated")
    assert http.get(url).json() == product

    by_admin = http.patch(url, json={"name": "Moderated"}, headers=admin.headers)
    assert by_admin.status_code == 200
    assert by_admin.json()["seller_id"] == seller.id


# Archive and events ----------------------------------------------------------------


def test_archive_hides_from_listing_but_not_from_get(http, seller, category):
    product = create(http, seller, category, sku="ARCH-1")
    url = f"/api/products/{product['id']}"
    assert [p["id"] for p in http.get("/api/products", params={"category": category}).json()["items"]] == [product["id"]]

    stale = http.delete(url, headers={**seller.headers, "If-Match": '"7"'})
    assert_error_body(stale, 412, "precondition_failed")
    response = http.delete(url, headers={**seller.headers, "If-Match": '"1"'})
    assert response.status_code == 204
    assert response.content == b""

    assert http.get("/api/products", params={"category": category}).json()["items"] == []
    assert http.get("/api/products", params={"seller_id": seller.id}).json()["items"] == []
    archived = http.get(url)
    assert archived.status_code == 200
    assert (archived.json()["status"], archived.json()["version"]) == ("archived", 2)
    assert archived.headers["etag"] == '"2"'

    assert_error_body(http.patch(url, json={"name": "Back"}, headers=seller.headers), 409, "product_archived")
    assert http.delete(url, headers=seller.headers).status_code == 204  # idempotent
    assert http.get(url).json()["version"] == 2
    assert create(http, seller, category, sku="ARCH-1")["id"] != product["id"]  # the SKU is free again


def test_product_events_are_in_the_outbox(system, http, seller, category):
    product = create(http, seller, category, price={"amount": 500, "currency": "GBP"}, stock=3)
    pid = product["id"]
    assert http.patch(f"/api/products/{pid}", json={"name": "Renamed", "description": "New words"},
                      headers=seller.headers).status_code == 200
    assert http.delete(f"/api/products/{pid}", headers=seller.headers).status_code == 204
    http.delete(f"/api/products/{pid}", headers=seller.headers)

    assert events_of(system, pid) == [
        ("PRODUCT_ADDED", {"product_id": pid, "seller_id": seller.id, "sku": product["sku"], "name": "Desk lamp",
                           "price": {"amount": 500, "currency": "GBP"}, "category": category}),
        ("PRODUCT_UPDATED", {"product_id": pid, "changed": ["name", "description"], "version": 2}),
        ("PRODUCT_DELETED", {"product_id": pid}),
    ]
    sequences = sql(system, "SELECT sequence FROM outbox WHERE aggregate_id = %s ORDER BY sequence", (pid,))
    assert [s for (s,) in sequences] == [1, 2, 3]
