"""A single-product order placed by its product's actor (actors/orders/place.py): the same
order the three-step checkout makes, and the stock changed exactly as a Reserve would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from actors.inventory.state import Reserve, Sale, SetSale, StockState
from actors.orders.model import Line, Open, OrderState, ReservationFailed, ReservationSucceeded, Totals, short_item
from actors.orders.place import OrderExists, PlaceOrder, place
from domain.errors import Conflict, InvalidInput

PRODUCT = "7d7c5b1e-9a0e-4d65-8d7e-3f0b6b0d2a11"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOLD = NOW + timedelta(minutes=15)


def stock(received: int = 5) -> StockState:
    return StockState(PRODUCT, received=received)


def command(order_id: str = "o-1", quantity: int = 1, user: str = "shopper-1", product: str = PRODUCT) -> PlaceOrder:
    line = Line(product, "seller-1", "SKU-1", "Thing", quantity, 250)
    opening = Open(user, (line,), Totals("USD", 250 * quantity, 499, 250 * quantity + 499), None, NOW, "hash-1")
    return PlaceOrder(order_id, opening, HOLD)


def three_steps(cmd: PlaceOrder, decision) -> OrderState:
    """The order as the general checkout leaves it: Open, then the reservation's outcome."""
    order = OrderState(id=cmd.order_id)
    order.apply(cmd.open)
    order.apply(decision)
    return order


def test_a_placed_order_is_the_order_the_three_steps_make_and_holds_its_units():
    state, cmd = stock(), command(quantity=2)
    placed = place(state, cmd)
    assert placed == three_steps(cmd, ReservationSucceeded(HOLD))
    assert placed.status == "AWAITING_PAYMENT" and placed.stock == "held" and placed.expires_at == HOLD
    assert [t for t, _ in placed.pending_events] == ["ORDER_PLACED"]
    assert (state.reserved, state.available) == (2, 3)
    assert state.reservations["o-1"].shopper_id == "shopper-1"
    assert [e.type for e in state.pending_events] == ["STOCK_RESERVED"]


def test_a_refusal_is_a_rejected_order_with_its_short_item_and_no_stock_moves():
    state, cmd = stock(received=1), command(quantity=2)
    placed = place(state, cmd)
    refusal = Conflict("not enough stock", code="out_of_stock", details={"available": 1, "requested": 2})
    expected = three_steps(cmd, ReservationFailed((short_item(cmd.open.lines[0], refusal),)))
    assert placed == expected
    assert placed.status == "REJECTED" and placed.short_items[0]["reason"] == "out_of_stock"
    assert placed.short_items[0]["available"] == 1
    assert placed.pending_events == []  # a rejection tells no one, as in the general checkout
    assert (state.reserved, state.pending_movements, state.pending_events) == (0, [], [])


@pytest.mark.parametrize("sale_kwargs,reason", [
    ({"starts_at": NOW + timedelta(hours=1)}, "sale_not_active"),
    ({"per_shopper_limit": 1}, "purchase_limit_exceeded"),
])
def test_sale_rules_refuse_like_a_reserve(sale_kwargs, reason):
    state = stock()
    window = {"starts_at": NOW - timedelta(hours=1), "ends_at": NOW + timedelta(hours=2)}
    state.apply(SetSale(Sale(**{**window, **sale_kwargs}, price=100, currency="USD")))
    placed = place(state, command(quantity=2))
    assert placed.status == "REJECTED" and placed.short_items[0]["reason"] == reason
    assert state.reserved == 0


def test_an_order_the_product_already_reserved_for_is_answered_by_its_order_actor():
    state = stock()
    state.apply(Reserve("o-1", 1, HOLD))  # placed before (or by the general checkout)
    assert place(state, command("o-1")) == OrderExists("o-1")
    assert state.reserved == 1


def test_a_line_for_another_product_is_refused():
    with pytest.raises(InvalidInput):
        place(stock(), command(product="another-product"))
