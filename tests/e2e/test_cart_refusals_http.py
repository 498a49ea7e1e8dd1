"""Cart refusals over HTTP: each answers its status and code, and changes nothing."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_cart_http import add, archive, cart, new_product, shopper  # noqa: F401  (fixture)
from tests.e2e.test_catalog_products import new_actor, sql
from tests.e2e.test_foundation_http import assert_error_body


@pytest.fixture
async def filled(system, http, shopper):
    """A shopper whose cart holds 2 units of a USD product; returns (shopper, product, view)."""
    product = await new_product(system)
    return shopper, product, add(http, shopper, product, 2)


@pytest.mark.parametrize(("product_id", "quantity", "status", "code"), [
    ("unknown", 1, 404, "product_not_found"),
    ("not-a-uuid", 1, 404, "product_not_found"),
    ("archived", 1, 409, "product_archived"),
    ("other-currency", 1, 409, "currency_mismatch"),
    ("same", 0, 422, "validation_error"),
    ("same", -1, 422, "validation_error"),
    ("same", 1.5, 422, "validation_error"),
    ("same", 1.0, 422, "validation_error"),
    ("same", "1", 422, "validation_error"),
    ("same", True, 422, "validation_error"),
    ("same", 100, 422, "quantity_too_large"),
    ("new", 100, 422, "quantity_too_large"),
    ("same", 98, 422, "quantity_too_large"),  # 2 held + 98 = 100 > 99
    ("same", 10**9, 422, "quantity_too_large"),
    ("same", 10**30, 422, "validation_error"),  # no quantity at all
])
async def test_refused_add_changes_nothing(system, http, filled, product_id, quantity, status, code):
    shopper, held, before = filled
    product_id = {
        "unknown": str(uuid.uuid4()), "same": held, "new": await new_product(system),
        "other-currency": await new_product(system, currency="EUR"),
    }.get(product_id, product_id)
    if product_id == "archived":
        product_id = await new_product(system)
        archive(system, product_id)
    response = http.post("/api/cart/items", json={"product_id": product_id, "quantity": quantity},
                         headers=shopper.headers)
    assert_error_body(response, status, code)
    assert cart(http, shopper) == before


@pytest.mark.parametrize("body", [{}, {"product_id": "x"}, {"quantity": 1}, {"product_id": 7, "quantity": 1}])
async def test_add_with_missing_or_mistyped_fields_is_422(http, filled, body):
    shopper, _, before = filled
    assert_error_body(http.post("/api/cart/items", json=body, headers=shopper.headers), 422, "validation_error")
    assert cart(http, shopper) == before


async def test_adding_up_to_the_cap_is_fine(http, filled):
    shopper, product, _ = filled
    assert add(http, shopper, product, 97)["items"][0]["quantity"] == 99
    error = assert_error_body(
        http.post("/api/cart/items", json={"product_id": product, "quantity": 1}, headers=shopper.headers),
        422, "quantity_too_large",
    )
    assert error["details"] == {"max_quantity": 99, "quantity": 100}
    assert cart(http, shopper)["items"][0]["quantity"] == 99


@pytest.mark.parametrize(("quantity", "code"), [
    (0, "validation_error"), (-2, "validation_error"), (2.5, "validation_error"), ("3", "validation_error"),
    (None, "validation_error"), (100, "quantity_too_large"),
])
async def test_refused_quantity_change_changes_nothing(http, filled, quantity, code):
    shopper, product, before = filled
    response = http.patch(f"/api/cart/items/{product}", json={"quantity": quantity}, headers=shopper.headers)
    assert_error_body(response, 422, code)
    assert cart(http, shopper) == before


async def test_lines_not_in_the_cart_are_404(system, http, filled):
    shopper, _, before = filled
    not_held = await new_product(system)
    for product_id in (not_held, str(uuid.uuid4()), "not-a-uuid"):
        patched = http.patch(f"/api/cart/items/{product_id}", json={"quantity": 1}, headers=shopper.headers)
        assert_error_body(patched, 404, "cart_item_not_found")
        assert_error_body(http.delete(f"/api/cart/items/{product_id}", headers=shopper.headers),
                          404, "cart_item_not_found")
    assert cart(http, shopper) == before


def _every_endpoint(product_id: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", "/api/cart", None), ("DELETE", "/api/cart", None),
        ("POST", "/api/cart/items", {"product_id": product_id, "quantity": 1}),
        ("PATCH", f"/api/cart/items/{product_id}", {"quantity": 1}),
        ("DELETE", f"/api/cart/items/{product_id}", None),
    ]


@pytest.mark.parametrize("role", ["seller", "admin"])
async def test_the_cart_is_for_shoppers_only(system, http, filled, role):
    shopper, product, before = filled
    other = await new_actor(system, role)
    for method, url, body in _every_endpoint(product):
        assert_error_body(http.request(method, url, json=body, headers=other.headers), 403, "forbidden")
    assert sql(system, "SELECT count(*) FROM cart_items WHERE user_id = %s", (other.id,)) == [(0,)]
    assert cart(http, shopper) == before


async def test_anonymous_callers_are_401(system, http, filled):
    shopper, product, before = filled
    for method, url, body in _every_endpoint(product):
        assert_error_body(http.request(method, url, json=body), 401, "not_authenticated")
    assert cart(http, shopper) == before

