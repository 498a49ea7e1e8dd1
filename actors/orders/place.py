"""A single-product order placed in ONE step, by the product's actor.

A checkout of one product turns on one decision: does that product's stock
cover it? The general checkout takes three steps for it (the OrderActor opens
the order, the ProductActor reserves, the OrderActor records the outcome):
three actor calls and three commits per order, which is most of a flash
sale's selling phase. Here the ProductActor takes `PlaceOrder`, reserves, and
writes the order as those three steps would have left it (AWAITING_PAYMENT,
or REJECTED with its short item) in the same transaction as the reservation.

The order is built by the order's own rules (`model.py`: `Open`, then
`ReservationSucceeded` or `ReservationFailed`), so both paths make the same
order. From then on only its OrderActor changes it; the actor is activated by
its first message (payment, cancel), and its hold's expiry is a due date in
PostgreSQL that the shards sweep (`OrderEntity.keys_due`).

No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from actors.inventory.state import Reserve, StockState
from actors.orders.model import Open, OrderState, ReservationFailed, ReservationSucceeded, short_item
from domain.errors import Conflict, InvalidInput, NotFound


@dataclass(frozen=True)
class PlaceOrder:
    """For the ProductActor of the order's one line."""

    order_id: str
    open: Open
    hold_until: datetime


@dataclass(frozen=True)
class OrderExists:
    """The reply when the order was placed before (a retry, or the same id from the
    general checkout): its OrderActor holds the answer."""

    order_id: str


def place(stock: StockState, command: PlaceOrder) -> OrderState | OrderExists:
    """Reserve the order's line on `stock` (as `Reserve` would) and return the order as placed.

    A refusal by the stock rules (out of stock, sale window, per-shopper limit)
    is a REJECTED order, not an error: like the general checkout, the key's
    first answer is kept.
    """
    (line,) = command.open.lines
    if line.product_id != stock.product_id:
        raise InvalidInput("The order's line is for another product.", code="wrong_product",
                           details={"product_id": line.product_id})
    if command.order_id in stock.reservations:
        return OrderExists(command.order_id)
    order = OrderState(id=command.order_id)
    order.apply(command.open)
    reserve = Reserve(command.order_id, line.quantity, command.hold_until, shopper_id=command.open.user_id,
                      now=command.open.now)
    try:
        stock.apply(reserve)
    except (Conflict, NotFound) as refusal:
        order.apply(ReservationFailed((short_item(line, refusal),)))
    else:
        order.apply(ReservationSucceeded(command.hold_until))
    return order
