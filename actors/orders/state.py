"""The order state machine as one table (DESIGN.md "Order lifecycle", invariant 7).

Every legal move is one row of ``TRANSITIONS``; anything else raises the same
``IllegalTransition`` (a 409 at the edge). The side effects a move demands
(release held stock, refund a payment) are also looked up here, so the
OrderActor never re-derives the lifecycle from if-chains.

No I/O here: stdlib and ``domain`` only.
"""

from __future__ import annotations

from enum import StrEnum

from domain.errors import IllegalTransition


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    REJECTED = "REJECTED"
    PAID = "PAID"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    FULFILLING = "FULFILLING"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"


class OrderTrigger(StrEnum):
    RESERVED = "RESERVED"  # every item reserved
    REJECTED = "REJECTED"  # some item short; the partial reservations were released
    PAID = "PAID"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    EXPIRE = "EXPIRE"  # the reservation hold ran out
    CANCEL = "CANCEL"
    START_FULFILMENT = "START_FULFILMENT"
    SHIP = "SHIP"  # the courier picked it up
    DELIVER = "DELIVER"
    COMPLETE = "COMPLETE"


S, T = OrderStatus, OrderTrigger

TRANSITIONS: dict[tuple[OrderStatus, OrderTrigger], OrderStatus] = {
    (S.PENDING, T.RESERVED): S.AWAITING_PAYMENT,
    (S.PENDING, T.REJECTED): S.REJECTED,
    (S.AWAITING_PAYMENT, T.PAID): S.PAID,
    (S.AWAITING_PAYMENT, T.PAYMENT_FAILED): S.PAYMENT_FAILED,
    (S.AWAITING_PAYMENT, T.EXPIRE): S.EXPIRED,
    (S.AWAITING_PAYMENT, T.CANCEL): S.CANCELLED,
    (S.PAID, T.START_FULFILMENT): S.FULFILLING,
    (S.PAID, T.CANCEL): S.CANCELLED,
    (S.FULFILLING, T.SHIP): S.SHIPPED,
    (S.FULFILLING, T.CANCEL): S.CANCELLED,
    (S.SHIPPED, T.DELIVER): S.DELIVERED,
    (S.DELIVERED, T.COMPLETE): S.COMPLETED,
}

# Statuses with no way out, derived from the table so the two cannot disagree.
TERMINAL: frozenset[OrderStatus] = frozenset(OrderStatus) - {src for src, _ in TRANSITIONS}

# Moves that end a stock hold which was never paid for: release the reservations.
_RELEASES_STOCK = frozenset({
    (S.AWAITING_PAYMENT, T.EXPIRE),
    (S.AWAITING_PAYMENT, T.PAYMENT_FAILED),
    (S.AWAITING_PAYMENT, T.CANCEL),
})

# Moves that undo a paid order: refund the payment and return the sold stock.
_NEEDS_REFUND = frozenset({(S.PAID, T.CANCEL), (S.FULFILLING, T.CANCEL)})

del S, T


def next_status(current: OrderStatus | str, trigger: OrderTrigger | str) -> OrderStatus:
    """The status ``trigger`` moves an order in ``current`` to, or IllegalTransition."""
    target = TRANSITIONS.get((current, trigger))  # StrEnum hashes like its str value
    if target is None:
        raise IllegalTransition(
            f"cannot {trigger} an order that is {current}",
            code="illegal_transition",
            details={"from": str(current), "trigger": str(trigger)},
        )
    return target


def releases_stock(current: OrderStatus | str, trigger: OrderTrigger | str) -> bool:
    return (current, trigger) in _RELEASES_STOCK


def needs_refund(current: OrderStatus | str, trigger: OrderTrigger | str) -> bool:
    return (current, trigger) in _NEEDS_REFUND
