"""The cart's pure rules: quantity cap, what may be added, how the view adds up."""

import pytest

from domain.errors import Conflict, InvalidInput
from serve_app.cart.rules import build_view, ensure_addable, ensure_quantity


def row(**overrides) -> dict:
    base = {
        "product_id": "p1", "sku": "SKU-1", "name": "Lamp", "status": "active", "quantity": 2,
        "price_amount": 1000, "price_currency": "USD",
        "price_when_added_amount": 1000, "price_when_added_currency": "USD", "available": 5,
    }
    return {**base, **overrides}


def test_quantity_up_to_the_cap_passes_and_beyond_is_quantity_too_large():
    ensure_quantity(99, 99)
    with pytest.raises(InvalidInput) as refused:
        ensure_quantity(100, 99)
    assert refused.value.code == "quantity_too_large"
    assert refused.value.details == {"max_quantity": 99, "quantity": 100}


def test_archived_products_and_other_currencies_cannot_be_added():
    ensure_addable("active", "EUR", None)  # an empty cart takes any currency
    ensure_addable("active", "USD", "USD")
    with pytest.raises(Conflict) as archived:
        ensure_addable("archived", "USD", "USD")
    assert archived.value.code == "product_archived"
    with pytest.raises(Conflict) as mismatch:
        ensure_addable("active", "EUR", "USD")
    assert mismatch.value.code == "currency_mismatch"
    assert mismatch.value.details == {"cart_currency": "USD", "product_currency": "EUR"}


def test_empty_cart_has_no_subtotal():
    view = build_view([])
    assert (view.items, view.subtotal, view.item_count) == ([], None, 0)


def test_line_shows_current_price_against_price_when_added_and_stock():
    view = build_view([row(price_amount=1200, quantity=3, available=2)])
    line = view.items[0]
    assert line.unit_price.amount == 1200 and line.price_when_added.amount == 1000
    assert line.price_changed is True
    assert line.line_total.amount == 3600
    assert line.in_stock is False
    assert view.subtotal.model_dump() == {"amount": 3600, "currency": "USD"}
    assert view.item_count == 3


def test_unchanged_price_and_enough_stock():
    line = build_view([row(available=2, quantity=2)]).items[0]
    assert line.price_changed is False and line.in_stock is True


def test_archived_lines_are_shown_out_of_stock_and_left_out_of_the_subtotal():
    view = build_view([row(product_id="a", quantity=1), row(product_id="b", status="archived", available=50)])
    archived = view.items[1]
    assert archived.status == "archived" and archived.in_stock is False
    assert view.subtotal.amount == 1000
    assert view.item_count == 3


def test_only_archived_lines_give_a_zero_subtotal_in_the_cart_currency():
    view = build_view([row(status="archived")])
    assert view.subtotal.model_dump() == {"amount": 0, "currency": "USD"}


def test_a_product_repriced_in_another_currency_is_left_out_of_the_subtotal():
    view = build_view([row(product_id="a"), row(product_id="b", price_currency="EUR", price_amount=900)])
    assert view.items[1].price_changed is True
    assert view.subtotal.model_dump() == {"amount": 2000, "currency": "USD"}


def test_line_totals_may_exceed_the_single_price_cap():
    # A maximal price times a full line must not fail the response model.
    line = build_view([row(price_amount=10**12, price_when_added_amount=10**12, quantity=99)]).items[0]
    assert line.line_total.amount == 99 * 10**12
