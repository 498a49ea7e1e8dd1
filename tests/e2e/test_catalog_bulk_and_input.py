"""Bulk creation with per-item results, and bad input that must change nothing."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_catalog_products import (  # noqa: F401  (fixtures)
    admin, category, events_of, other_seller, product_body, products_of, seller, shopper, sql,
)
from tests.e2e.test_foundation_http import assert_error_body


def added_events_for_seller(system, seller_id: str) -> int:
    return sql(system, "SELECT count(*) FROM outbox WHERE type = 'PRODUCT_ADDED' AND data->>'seller_id' = %s",
               (seller_id,))[0][0]


def test_bulk_reports_each_item_and_keeps_only_the_good_ones(system, http, seller, category):
    good_first = product_body(category, sku="BULK-1", stock=5)
    items = [
        good_first,
        product_body(category, price={"amount": 9.99, "currency": "USD"}),
        product_body(category, category="no-such-category-here"),
        product_body(category, sku="BULK-1"),                       # duplicate of item 0
        product_body(category, sku="BULK-2", name="Second good one"),
        "not an object",
        {**product_body(category), "colour": "red"},               # unknown field
        product_body(category, price={"amount": -5, "currency": "USD"}),
    ]
    response = http.post("/api/products/bulk", json={"items": items}, headers=seller.headers)
    assert response.status_code == 207, response.text
    results = response.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (0, 201), (1, 422), (2, 422), (3, 409), (4, 201), (5, 422), (6, 422), (7, 422),
    ]
    assert [r["error"]["code"] for r in results if r["status"] != 201] == [
        "validation_error", "unknown_category", "sku_taken", "validation_error", "validation_error",
        "validation_error",
    ]
    for result in results:
        assert set(result) == {"index", "status", "product" if result["status"] == 201 else "error"}
    price_error = results[1]["error"]["details"]["errors"][0]
    assert price_error["loc"] == ["price", "amount"] and "input" not in price_error

    created = [r["product"] for r in results if r["status"] == 201]
    assert [p["sku"] for p in created] == ["BULK-1", "BULK-2"]
    assert created[0]["available"] == 5
    for product in created:
        fetched = http.get(f"/api/products/{product['id']}")
        assert fetched.status_code == 200
        assert fetched.json() == product
        assert [t for t, _ in events_of(system, product["id"])] == ["PRODUCT_ADDED"]
    assert products_of(system, seller.id) == 2
    assert added_events_for_seller(system, seller.id) == 2


def test_bulk_by_admin_on_behalf_of_sellers(system, http, admin, seller, other_seller, category):
    items = [product_body(category, seller_id=seller.id), product_body(category, seller_id=other_seller.id),
             product_body(category, seller_id=str(uuid.uuid4()))]
    results = http.post("/api/products/bulk", json={"items": items}, headers=admin.headers).json()["results"]
    assert [r["status"] for r in results] == [201, 201, 422]
    assert results[2]["error"]["code"] == "unknown_seller"
    assert (products_of(system, seller.id), products_of(system, other_seller.id)) == (1, 1)


def test_bulk_needs_a_seller_and_a_sane_request(system, http, seller, shopper, category):
    body = {"items": [product_body(category)]}
    assert_error_body(http.post("/api/products/bulk", json=body, headers=shopper.headers), 403, "forbidden")
    assert_error_body(http.post("/api/products/bulk", json=body), 401, "not_authenticated")
    for bad in ({"items": []}, {"items": [product_body(category)] * 101}, {"items": "x"}, {},
                {"items": [product_body(category)], "extra": 1}, [product_body(category)]):
        assert_error_body(http.post("/api/products/bulk", json=bad, headers=seller.headers), 422, "validation_error")
    assert products_of(system, seller.id) == 0


@pytest.mark.parametrize("overrides, code", [
    ({"price": {"amount": 19.99, "currency": "USD"}}, "validation_error"),
    ({"price": {"amount": 1999.0, "currency": "USD"}}, "validation_error"),
    ({"price": {"amount": "1999", "currency": "USD"}}, "validation_error"),
    ({"price": {"amount": -1, "currency": "USD"}}, "validation_error"),
    ({"price": {"amount": 100, "currency": "usd"}}, "validation_error"),
    ({"price": {"amount": 100, "currency": "XYZ"}}, "validation_error"),
    ({"price": {"amount": 100, "currency": "DOLLARS"}}, "validation_error"),
    ({"price": 100}, "validation_error"),
    ({"stock": -1}, "validation_error"),
    ({"stock": 1_000_001}, "validation_error"),
    ({"stock": 1.5}, "validation_error"),
    ({"sku": "has spaces"}, "validation_error"),
    ({"name": ""}, "validation_error"),
    ({"name": "nul\x00byte"}, "validation_error"),
    ({"attributes": {"k": "nul\x00"}}, "validation_error"),
    ({"attributes": ["not", "an", "object"]}, "validation_error"),
    ({"unknown_field": True}, "validation_error"),
    ({"category": "no-such-category-anywhere"}, "unknown_category"),
])
def test_bad_product_input_is_refused_and_changes_nothing(system, http, seller, category, overrides, code):
    response = http.post("/api/products", json=product_body(category, **overrides), headers=seller.headers)
    error = assert_error_body(response, 422, code)
    assert "nul\x00" not in response.text  # validation errors never echo the input
    if code == "validation_error":
        assert error["details"]["errors"]
    assert products_of(system, seller.id) == 0
    assert added_events_for_seller(system, seller.id) == 0


@pytest.mark.parametrize("raw, status, code", [
    (b'{"sku": "X", "name": ', 400, "malformed_json"),
    (b"not json at all", 400, "malformed_json"),
    # Valid for Python's JSON parser, impossible for PostgreSQL's: must still be a 4xx.
    (b'{"sku":"NAN-1","name":"n","price":{"amount":1,"currency":"USD"},"category":"%s","attributes":{"w":NaN}}', 422,
     "validation_error"),
    (b'{"sku":"SUR-1","name":"\\ud800","price":{"amount":1,"currency":"USD"},"category":"%s"}', 422,
     "validation_error"),
    (b'{"sku":"BIG-1","name":"n","price":{"amount":1,"currency":"USD"},"category":"%s","attributes":{"n":1e999}}',
     422, "validation_error"),
    (b'["a", "list"]', 422, "validation_error"),
])
def test_malformed_bodies(system, http, seller, category, raw, status, code):
    body = raw.replace(b"%s", category.encode())
    response = http.post("/api/products", content=body,
                         headers={**seller.headers, "Content-Type": "application/json"})
    assert_error_body(response, status, code)
    assert products_of(system, seller.id) == 0
