"""Catalog input validation: money never a float, strings safe for PostgreSQL, patches explicit."""

import json

import pytest
from pydantic import ValidationError

from serve_app.catalog.etag import etag_for, parse_if_match
from serve_app.catalog.schemas import BulkCreate, ProductCreate, ProductQuery, ProductUpdate


def body(**overrides):
    base = {"sku": "SKU-1", "name": "Lamp", "description": "A lamp", "price": {"amount": 1999, "currency": "USD"},
            "category": "home"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def test_minimal_product_gets_defaults():
    product = ProductCreate.model_validate(body(description=...))
    assert product.description == ""
    assert product.attributes == {}
    assert product.stock == 0
    assert product.seller_id is None


def test_strings_are_trimmed():
    product = ProductCreate.model_validate(body(name="  Lamp  ", sku=" SKU-1 "))
    assert (product.name, product.sku) == ("Lamp", "SKU-1")


@pytest.mark.parametrize("overrides", [
    {"price": {"amount": 19.99, "currency": "USD"}},      # float
    {"price": {"amount": 1999.0, "currency": "USD"}},     # float, even a whole one
    {"price": {"amount": "1999", "currency": "USD"}},     # string
    {"price": {"amount": -1, "currency": "USD"}},
    {"price": {"amount": 10**13, "currency": "USD"}},
    {"price": {"amount": 100, "currency": "usd"}},
    {"price": {"amount": 100, "currency": "US"}},
    {"price": {"amount": 100, "currency": "XYZ"}},        # right shape, not ISO 4217
    {"price": {"amount": 100}},
    {"price": {"amount": 100, "currency": "USD", "extra": 1}},
    {"price": 1999},
    {"stock": -1},
    {"stock": 1_000_001},
    {"stock": 2.0},
    {"stock": True},
    {"sku": ""},
    {"sku": "has space"},
    {"sku": "x" * 65},
    {"name": "   "},
    {"name": "x" * 201},
    {"name": "nul\x00byte"},
    {"name": "lone \ud800 surrogate"},
    {"description": "nul\x00byte"},
    {"category": "Not A Slug"},
    {"category": ""},
    {"category": ...},
    {"sku": ...},
    {"price": ...},
    {"seller_id": "not-a-uuid"},
    {"unknown_field": 1},
    {"attributes": []},
    {"attributes": {"weight": float("nan")}},
    {"attributes": {"weight": float("inf")}},
    {"attributes": {"big": 2**64}},
    {"attributes": {"k": "nul\x00"}},
    {"attributes": {"nul\x00key": 1}},
    {"attributes": {"deep": json.loads("[" * 20 + "]" * 20)}},
    {"attributes": {"blob": "x" * 20_000}},
])
def test_invalid_products_are_refused(overrides):
    with pytest.raises(ValidationError):
        ProductCreate.model_validate(body(**overrides))


def test_rich_attributes_are_kept():
    attributes = {"color": "red", "sizes": [1, 2.5, None, True], "dims": {"w": 10, "h": {"cm": 3}}}
    assert ProductCreate.model_validate(body(attributes=attributes)).attributes == attributes


def test_validation_errors_do_not_echo_input():
    with pytest.raises(ValidationError) as caught:
        ProductCreate.model_validate(body(name="secret-value\x00"))
    assert all("secret-value" not in e["msg"] for e in caught.value.errors())


def test_patch_keeps_only_what_was_sent():
    patch = ProductUpdate.model_validate({"name": "New", "attributes": {}})
    assert patch.changes() == {"name": "New", "attributes": {}}


@pytest.mark.parametrize("payload", [
    {}, {"name": None}, {"price": None}, {"stock": 5}, {"status": "archived"}, {"seller_id": None},
    {"price": {"amount": 1.5, "currency": "USD"}}, {"category": "Bad Slug"},
])
def test_invalid_patches_are_refused(payload):
    with pytest.raises(ValidationError):
        ProductUpdate.model_validate(payload)


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"min_price": -1}, {"min_price": "1.5"},
    {"min_price": 10, "max_price": 5}, {"sort": "random"}, {"seller_id": "x"}, {"q": "a\x00b"},
    {"category": "UPPER"}, {"max_price": 10**13},
])
def test_invalid_listing_queries_are_refused(params):
    with pytest.raises(ValidationError):
        ProductQuery.model_validate(params)


def test_listing_query_defaults_and_blank_search():
    query = ProductQuery.model_validate({"q": "   ", "min_price": "5", "max_price": "5"})
    assert (query.q, query.sort, query.limit, query.min_price) == (None, "newest", 20, 5)


def test_bulk_limits():
    BulkCreate.model_validate({"items": [{}] * 100})
    for items in ([], [{}] * 101):
        with pytest.raises(ValidationError):
            BulkCreate.model_validate({"items": items})


@pytest.mark.parametrize("header, version, matches", [
    ('"3"', 3, True),
    ('"3"', 4, False),
    ('"2", "3"', 3, True),
    ("*", 99, True),
    ('W/"3"', 3, False),   # If-Match compares strongly
    ("3", 3, False),       # unquoted: not an entity tag
    ('"abc"', 3, False),
    ("", 3, False),
    ('"99999999999999999999"', 3, False),
])
def test_if_match(header, version, matches):
    assert parse_if_match(header).matches(version) is matches


def test_no_if_match_is_unconditional_and_etag_is_quoted_version():
    assert parse_if_match(None) is None
    assert etag_for(7) == '"7"'
