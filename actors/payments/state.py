"""The payment state machine and the rules around it (no I/O: stdlib and `domain` only).

    processing ──succeed──► succeeded ──refund (part)──► partially_refunded ──refund (rest)──► refunded
        │                        └────────refund (all)──────────────────────────────────────►──┘
        └──fail──► failed

Every legal move is one row of ``TRANSITIONS``; anything else raises
``IllegalTransition`` (409 at the edge). A move returns the new state and the
event it records, as ``(type, data)``; the caller writes both in one
transaction. Money is integer minor units plus a currency.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Iterable

from domain.errors import Conflict, IllegalTransition, InvalidInput

Event = tuple[str, dict]


class PaymentStatus(StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class PaymentTrigger(StrEnum):
    SUCCEED = "SUCCEED"
    FAIL = "FAIL"
    REFUND_PART = "REFUND_PART"  # leaves some of the captured amount
    REFUND_ALL = "REFUND_ALL"  # returns the rest of it


S, T = PaymentStatus, PaymentTrigger

TRANSITIONS: dict[tuple[PaymentStatus, PaymentTrigger], PaymentStatus] = {
    (S.PROCESSING, T.SUCCEED): S.SUCCEEDED,
    (S.PROCESSING, T.FAIL): S.FAILED,
    (S.SUCCEEDED, T.REFUND_PART): S.PARTIALLY_REFUNDED,
    (S.SUCCEEDED, T.REFUND_ALL): S.REFUNDED,
    (S.PARTIALLY_REFUNDED, T.REFUND_PART): S.PARTIALLY_REFUNDED,
    (S.PARTIALLY_REFUNDED, T.REFUND_ALL): S.REFUNDED,
}

# Money was captured (and maybe partly returned): the order counts as paid.
CAPTURED: frozenset[PaymentStatus] = frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED})
REFUNDABLE: frozenset[PaymentStatus] = frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED})

del S, T

# Order statuses (actors/orders/state.py), as plain strings: this module must
# not depend on the order actor. Only an order awaiting payment can be paid;
# an order that ended in one of the "closed unpaid" statuses keeps no money,
# so whatever a payment captured for it is refunded.
PAYABLE_ORDER_STATUS = "AWAITING_PAYMENT"
PAID_ORDER_STATUSES = frozenset({"PAID", "FULFILLING", "SHIPPED", "DELIVERED", "COMPLETED"})
CLOSED_UNPAID_ORDER_STATUSES = frozenset({"CANCELLED", "EXPIRED", "PAYMENT_FAILED", "REJECTED"})


def next_status(current: PaymentStatus | str, trigger: PaymentTrigger | str) -> PaymentStatus:
    target = TRANSITIONS.get((current, trigger))
    if target is None:
        raise IllegalTransition(
            f"cannot {trigger} a payment that is {current}",
            code="illegal_transition", details={"from": str(current), "trigger": str(trigger)},
        )
    return target


def money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


@dataclass(frozen=True)
class Payment:
    id: str
    order_id: str
    status: PaymentStatus
    amount: int  # captured (or to capture), minor units
    currency: str
    refunded: int = 0  # completed refunds
    refunding: int = 0  # refunds recorded but not yet confirmed by the gateway

    @property
    def refundable(self) -> int:
        """What a new refund may still take back."""
        if self.status not in REFUNDABLE:
            return 0
        return self.amount - self.refunded - self.refunding

    def succeed(self) -> tuple[Payment, Event]:
        after = replace(self, status=next_status(self.status, PaymentTrigger.SUCCEED))
        return after, ("PAYMENT_SUCCESS", after._data(reason=None))

    def fail(self, reason: str) -> tuple[Payment, Event]:
        after = replace(self, status=next_status(self.status, PaymentTrigger.FAIL))
        return after, ("PAYMENT_FAILURE", after._data(reason=reason))

    def refund(self, amount: int, *, refund_id: str, reason: str) -> tuple[Payment, Event]:
        """Complete a refund of `amount` (already reserved in `refunding`, or not)."""
        if amount <= 0 or self.refunded + amount > self.amount:
            raise InvalidInput("A refund must be positive and at most what was captured.", code="refund_too_large",
                               details={"refundable": money(self.amount - self.refunded, self.currency)})
        refunded = self.refunded + amount
        trigger = PaymentTrigger.REFUND_ALL if refunded == self.amount else PaymentTrigger.REFUND_PART
        after = replace(self, status=next_status(self.status, trigger), refunded=refunded,
                        refunding=max(0, self.refunding - amount))
        return after, ("PAYMENT_REFUNDED", {
            **after._data(reason=reason), "refund_id": refund_id, "refund": money(amount, self.currency),
            "refunded_total": money(refunded, self.currency),
        })

    def _data(self, *, reason: str | None) -> dict:
        return {"payment_id": self.id, "order_id": self.order_id, "status": str(self.status),
                "amount": money(self.amount, self.currency), "reason": reason}


def refund_amount(payment: Payment, requested: int | None) -> int:
    """The amount of a new refund: all that is left by default, else at most that."""
    if payment.status not in REFUNDABLE:
        raise Conflict(f"A {payment.status} payment cannot be refunded.", code="not_refundable",
                       details={"status": str(payment.status)})
    left = payment.refundable
    if left <= 0:
        raise Conflict("Everything captured is already refunded or being refunded.", code="not_refundable",
                       details={"status": str(payment.status)})
    amount = left if requested is None else requested
    if not 0 < amount <= left:
        raise InvalidInput("A refund may be at most what was captured and not yet refunded.",
                           code="refund_too_large", details={"refundable": money(left, payment.currency)})
    return amount


def check_payable(order_status: str, expires_at: datetime | None, now: datetime, total: int,
                  payments: Iterable[PaymentStatus | str]) -> None:
    """Refuse a new payment for this order (Conflict, 409), or return None.

    At most one payment per order is ever charged: while one is processing or
    has captured money, no other is accepted. A failed payment moves its order
    to PAYMENT_FAILED, so a failure also ends the order's payments.
    """
    statuses = {PaymentStatus(status) for status in payments}
    if statuses & CAPTURED or order_status in PAID_ORDER_STATUSES:
        raise Conflict("This order is already paid.", code="already_paid")
    if PaymentStatus.PROCESSING in statuses:
        raise Conflict("A payment for this order is already being processed.", code="payment_in_progress")
    if PaymentStatus.FAILED in statuses:
        raise Conflict("The payment for this order failed; place a new order.", code="payment_failed")
    if order_status != PAYABLE_ORDER_STATUS:
        raise IllegalTransition(f"An order that is {order_status} cannot be paid.", code="illegal_transition",
                                details={"from": order_status, "trigger": "PAY"})
    if expires_at is not None and expires_at <= now:
        raise Conflict("The order's reservation has expired.", code="order_expired",
                       details={"expired_at": expires_at.isoformat()})
    if total <= 0:
        raise Conflict("This order has nothing to pay.", code="nothing_to_pay")


def charge_refusal(order_status: str, expires_at: datetime | None, now: datetime) -> str | None:
    """Why the worker must not charge (the order moved on meanwhile), or None to charge."""
    if order_status != PAYABLE_ORDER_STATUS:
        return f"order_{order_status.lower()}"
    if expires_at is not None and expires_at <= now:
        return "order_expired"
    return None


def refund_due(order_status: str) -> bool:
    """An order in this status keeps no money: refund what its payments captured."""
    return order_status in CLOSED_UNPAID_ORDER_STATUSES
