"""Listing products over HTTP: filters, full-text search, sort orders, keyset pagination, categories.

Each test lists within a category of its own, so other tests' products never show up.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from tests.e2e.test_catalog_products import (  # noqa: F401  (fixtures)
    admin, category, other_seller, product_body, seller, shopper,
)
from tests.e2e.test_foundation_http import assert_error_body

# (name, price, description): duplicate prices and names test the id tie-breaker.
CATALOG = [
    ("Anvil", 5000, "heavy iron anvil for the workshop"),
    ("Bicycle", 25000, "a light road bicycle"),
    ("Candle", 300, "scented wax candle"),
    ("Drill", 8000, "cordless drill with two batteries"),
    ("Easel", 5000, "wooden easel for painting"),
    ("Fan", 2000, "quiet desk fan"),
    ("Anvil", 4500, "small anvil for jewellery"),
    ("Globe", 3000, "world globe with stand"),
    ("Hammock", 0, "free sample hammock"),
    ("Igloo cooler", 6500, "cooler box that keeps drinks cold"),
]


def bulk_create(http, actor, category: str, rows=CATALOG) -> list[dict]:
    items = [product_body(category, name=name, price={"amount": price, "currency": "USD"}, description=description)
             for name, price, description in rows]
    response = http.post("/api/products/bulk", json={"items": items}, headers=actor.headers)
    assert response.status_code == 207, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201] * len(rows), results
    return [r["product"] for r in results]


def list_ids(http, **params) -> list[str]:
    response = http.get("/api/products", params=params)
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["items"]]


def walk(http, page_size: int, **params) -> tuple[list[str], int]:
    """Every id over all pages, in order, and how many pages it took."""
    ids, pages, cursor = [], 0, None
    while True:
        query = {**params, "limit": page_size, **({"cursor": cursor} if cursor else {})}
        response = http.get("/api/products", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= page_size
        ids += [p["id"] for p in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages
        assert pages < 100, "pagination does not end"


def expected_order(products: list[dict], sort: str) -> list[str]:
    keys = {
        "newest": lambda p: (datetime.fromisoformat(p["created_at"]), p["id"]),
        "price_asc": lambda p: (p["price"]["amount"], p["id"]),
        "price_desc": lambda p: (p["price"]["amount"], p["id"]),
        "name": lambda p: (p["name"], p["id"]),
    }
    ordered = sorted(products, key=keys[sort], reverse=sort in ("newest", "price_desc"))
    return [p["id"] for p in ordered]


def test_default_listing_is_newest_first_with_limit_20(http, seller, category):
    products = bulk_create(http, seller, category, CATALOG * 3)
    response = http.get("/api/products", params={"category": category})
    body = response.json()
    assert len(body["items"]) == 20
    assert body["next_cursor"]
    assert [p["id"] for p in body["items"]] == expected_order(products, "newest")[:20]
    assert body["items"][0]["available"] == 0


@pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc", "name"])
def test_sort_orders(http, seller, category, sort):
    products = bulk_create(http, seller, category)
    assert list_ids(http, category=category, sort=sort) == expected_order(products, sort)


@pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc", "name"])
def test_cursor_walks_every_page_without_duplicates_or_gaps(http, seller, other_seller, category, sort):
    products = bulk_create(http, seller, category, CATALOG * 2) + bulk_create(http, other_seller, category, CATALOG)
    ids, pages = walk(http, 7, category=category, sort=sort)
    assert len(ids) == len(set(ids)) == 30
    assert ids == expected_order(products, sort)
    assert pages == 5  # 7+7+7+7+2


def test_cursor_with_filters_and_an_exact_last_page(http, seller, category):
    bulk_create(http, seller, category)
    cheap = list_ids(http, category=category, max_price=5000, sort="price_asc", limit=100)
    assert len(cheap) == 7
    ids, pages = walk(http, 7, category=category, max_price=5000, sort="price_asc")
    assert (ids, pages) == (cheap, 1)  # a full last page has no next cursor
    assert list_ids(http, category=category, max_price=5000, sort="price_asc", cursor="") == cheap


def test_price_filters_are_inclusive_minor_units(http, seller, category):
    products = bulk_create(http, seller, category)
    by_price = {p["id"]: p["price"]["amount"] for p in products}
    ids = list_ids(http, category=category, min_price=3000, max_price=6500, limit=100)
    assert sorted(by_price[i] for i in ids) == [3000, 4500, 5000, 5000, 6500]
    assert [by_price[i] for i in list_ids(http, category=category, max_price=0)] == [0]
    assert list_ids(http, category=category, min_price=5000, max_price=5000, sort="price_asc") == expected_order(
        [p for p in products if p["price"]["amount"] == 5000], "price_asc")


def test_currency_filter(http, seller, category):
    usd = bulk_create(http, seller, category, CATALOG[:2])
    response = http.post("/api/products", json=product_body(category, price={"amount": 100, "currency": "EUR"}),
                         headers=seller.headers)
    assert list_ids(http, category=category, currency="EUR") == [response.json()["id"]]
    assert set(list_ids(http, category=category, currency="USD")) == {p["id"] for p in usd}


def test_seller_filter(http, seller, other_seller, category):
    mine = bulk_create(http, seller, category, CATALOG[:3])
    theirs = bulk_create(http, other_seller, category, CATALOG[3:5])
    assert set(list_ids(http, seller_id=seller.id)) == {p["id"] for p in mine}
    assert set(list_ids(http, seller_id=other_seller.id, category=category)) == {p["id"] for p in theirs}
    assert list_ids(http, seller_id=str(uuid.uuid4())) == []


def test_category_filter(http, seller, admin, category, unique):
    other = f"other-{unique}"
    assert http.post("/api/categories", json={"slug": other, "name": "Other"}, headers=admin.headers).status_code == 201
    here = bulk_create(http, seller, category, CATALOG[:4])
    there = bulk_create(http, seller, other, CATALOG[4:6])
    assert set(list_ids(http, category=category)) == {p["id"] for p in here}
    assert set(list_ids(http, category=other)) == {p["id"] for p in there}
    assert list_ids(http, category=f"never-{unique}") == []


def test_full_text_search(http, seller, category, unique):
    word = f"zq{unique}"  # a word only this test's products contain
    rows = [
        ("Trail boots", 9000, f"waterproof hiking boots {word}"),
        (f"Hiking pole {word}", 3000, "aluminium"),
        ("Leather boots", 12000, f"leather boots for the city {word}"),
        ("Sandals", 2000, "for the beach"),
    ]
    boots, pole, leather, _sandals = bulk_create(http, seller, category, rows)
    assert set(list_ids(http, q=word)) == {boots["id"], pole["id"], leather["id"]}
    # Stemming: "hike" finds "hiking"; both words must match.
    assert set(list_ids(http, q=f"hike {word}")) == {boots["id"], pole["id"]}
    # Web search syntax: a minus excludes, quotes match a phrase.
    assert set(list_ids(http, q=f"boot -leather {word}")) == {boots["id"]}
    assert list_ids(http, q=f'"hiking boots" {word}') == [boots["id"]]
    assert list_ids(http, q=f"{word}", category=category, sort="price_asc") == [pole["id"], boots["id"], leather["id"]]
    # Characters that are operators elsewhere are just text here.
    assert set(list_ids(http, q=f"{word} & | ! ( ) :* <-> '")) <= {boots["id"], pole["id"], leather["id"]}
    assert len(list_ids(http, q="   ", category=category)) == 4  # blank search filters nothing
    assert list_ids(http, q="the", category=category) == []  # only a stop word: matches nothing


def test_archived_products_are_never_listed(http, seller, category):
    products = bulk_create(http, seller, category, CATALOG[:3])
    assert http.delete(f"/api/products/{products[1]['id']}", headers=seller.headers).status_code == 204
    for sort in ("newest", "price_asc", "name"):
        assert products[1]["id"] not in list_ids(http, category=category, sort=sort)


@pytest.mark.parametrize("params, status, code", [
    ({"cursor": "garbage!"}, 400, "invalid_cursor"),
    ({"cursor": "eyJub3QiOiAiYSBsaXN0In0"}, 400, "invalid_cursor"),  # base64 of a JSON object
    ({"cursor": "W10"}, 400, "invalid_cursor"),                     # base64 of []
    ({"cursor": "=="}, 400, "invalid_cursor"),
    ({"cursor": "A" * 600}, 400, "invalid_cursor"),  # too long: the same 400 as any other bad cursor
    ({"limit": 0}, 422, "validation_error"),
    ({"limit": 1000}, 422, "validation_error"),
    ({"limit": "many"}, 422, "validation_error"),
    ({"min_price": 10, "max_price": 5}, 422, "validation_error"),
    ({"min_price": "1.5"}, 422, "validation_error"),
    ({"min_price": -1}, 422, "validation_error"),
    ({"max_price": 10**20}, 422, "validation_error"),
    ({"sort": "random"}, 422, "validation_error"),
    ({"seller_id": "not-a-uuid"}, 422, "validation_error"),
    ({"category": "Has Spaces"}, 422, "validation_error"),
    ({"q": "nul\x00byte"}, 422, "validation_error"),
])
def test_bad_listing_queries(http, params, status, code):
    assert_error_body(http.get("/api/products", params=params), status, code)


def test_cursor_is_bound_to_its_sort_order(http, seller, category):
    bulk_create(http, seller, category, CATALOG[:3])
    cursor = http.get("/api/products", params={"category": category, "sort": "price_asc", "limit": 1}).json()[
        "next_cursor"]
    assert cursor
    for sort in ("newest", "price_desc", "name"):
        response = http.get("/api/products", params={"category": category, "sort": sort, "cursor": cursor})
        assert_error_body(response, 400, "invalid_cursor")


# Categories ------------------------------------------------------------------------


def test_categories_are_created_by_admins_and_listed_for_anyone(http, admin, seller, shopper, unique):
    slugs = [f"c{unique}-{n}" for n in range(5)]
    for slug in reversed(slugs):
        response = http.post("/api/categories", json={"slug": slug, "name": slug.upper()}, headers=admin.headers)
        assert response.status_code == 201, response.text
        assert response.json()["slug"] == slug
    listed, cursor = [], None
    while True:
        page = http.get("/api/categories", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        listed += [c["slug"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(listed) == len(set(listed))
    assert listed == sorted(listed)
    assert [s for s in listed if s.startswith(f"c{unique}")] == slugs

    body = {"slug": f"s{unique}", "name": "Nope"}
    assert_error_body(http.post("/api/categories", json=body, headers=seller.headers), 403, "forbidden")
    assert_error_body(http.post("/api/categories", json=body, headers=shopper.headers), 403, "forbidden")
    assert_error_body(http.post("/api/categories", json=body), 401, "not_authenticated")
    duplicate = http.post("/api/categories", json={"slug": slugs[0], "name": "Again"}, headers=admin.headers)
    assert_error_body(duplicate, 409, "category_exists")
    for bad in ({"slug": "Upper Case", "name": "x"}, {"slug": "ok-slug"}, {"slug": f"x{unique}", "name": "x", "y": 1}):
        assert_error_body(http.post("/api/categories", json=bad, headers=admin.headers), 422, "validation_error")
    assert_error_body(http.get("/api/categories", params={"cursor": "nope"}), 400, "invalid_cursor")
    assert_error_body(http.get("/api/categories", params={"cursor": "A" * 600}), 400, "invalid_cursor")
    assert_error_body(http.get("/api/categories", params={"limit": 0}), 422, "validation_error")
