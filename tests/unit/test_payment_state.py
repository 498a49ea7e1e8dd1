"""The payment state machine and its rules: every legal move, every other refused."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from actors.payments.state import (
    TRANSITIONS,
    Payment,
    PaymentStatus as S,
    PaymentTrigger as T,
    charge_refusal,
    check_payable,
    next_status,
    refund_amount,
    refund_due,
)
from domain.errors import Conflict, IllegalTransition, InvalidInput

NOW = datetime(2030, 1, 1, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)

MOVES = [
    (S.PROCESSING, T.SUCCEED, S.SUCCEEDED),
    (S.PROCESSING, T.FAIL, S.FAILED),
    (S.SUCCEEDED, T.REFUND_PART, S.PARTIALLY_REFUNDED),
    (S.SUCCEEDED, T.REFUND_ALL, S.REFUNDED),
    (S.PARTIALLY_REFUNDED, T.REFUND_PART, S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, T.REFUND_ALL, S.REFUNDED),
]


def payment(status=S.PROCESSING, amount=1000, refunded=0, refunding=0) -> Payment:
    return Payment("p1", "o1", status, amount, "USD", refunded, refunding)


def test_table_is_exactly_the_documented_moves():
    assert TRANSITIONS == {(src, trig): dst for src, trig, dst in MOVES}


@pytest.mark.parametrize(("current", "trigger"), [p for p in itertools.product(S, T) if p not in TRANSITIONS])
def test_every_other_move_is_illegal(current, trigger):
    with pytest.raises(IllegalTransition) as info:
        next_status(current, trigger)
    assert info.value.details == {"from": current, "trigger": trigger}


def test_success_and_failure_record_their_events():
    succeeded, (kind, data) = payment().succeed()
    assert succeeded.status is S.SUCCEEDED and kind == "PAYMENT_SUCCESS"
    assert data == {"payment_id": "p1", "order_id": "o1", "status": "succeeded",
                    "amount": {"amount": 1000, "currency": "USD"}, "reason": None}
    failed, (kind, data) = payment().fail("card_declined")
    assert failed.status is S.FAILED and kind == "PAYMENT_FAILURE" and data["reason"] == "card_declined"


def test_a_settled_payment_cannot_settle_again():
    with pytest.raises(IllegalTransition):
        payment(S.SUCCEEDED).fail("late")
    with pytest.raises(IllegalTransition):
        payment(S.FAILED).succeed()


def test_partial_then_full_refund():
    part, (kind, data) = payment(S.SUCCEEDED).refund(300, refund_id="r1", reason="goodwill")
    assert (part.status, part.refunded, kind) == (S.PARTIALLY_REFUNDED, 300, "PAYMENT_REFUNDED")
    assert data["refund"] == {"amount": 300, "currency": "USD"} and data["refund_id"] == "r1"
    rest, (_, data) = part.refund(700, refund_id="r2", reason="cancelled")
    assert (rest.status, rest.refunded) == (S.REFUNDED, 1000)
    assert data["refunded_total"] == {"amount": 1000, "currency": "USD"}


def test_refund_amount_defaults_to_what_is_left_and_counts_pending_refunds():
    assert refund_amount(payment(S.SUCCEEDED), None) == 1000
    assert refund_amount(payment(S.PARTIALLY_REFUNDED, refunded=300, refunding=200), None) == 500
    assert refund_amount(payment(S.SUCCEEDED), 1) == 1
    for too_much in (1001, 0, -5):
        with pytest.raises(InvalidInput) as info:
            refund_amount(payment(S.SUCCEEDED, refunding=100), too_much)
        assert info.value.code == "refund_too_large"
        assert info.value.details == {"refundable": {"amount": 900, "currency": "USD"}}


@pytest.mark.parametrize("status", [S.PROCESSING, S.FAILED, S.REFUNDED])
def test_only_captured_money_is_refundable(status):
    with pytest.raises(Conflict) as info:
        refund_amount(payment(status, refunded=1000 if status is S.REFUNDED else 0), None)
    assert info.value.code == "not_refundable"


def test_everything_pending_leaves_nothing_to_refund():
    with pytest.raises(Conflict):
        refund_amount(payment(S.SUCCEEDED, refunding=1000), None)


@pytest.mark.parametrize(("order_status", "payments", "code"), [
    ("AWAITING_PAYMENT", ["succeeded"], "already_paid"),
    ("AWAITING_PAYMENT", ["failed", "refunded"], "already_paid"),
    ("PAID", [], "already_paid"),
    ("SHIPPED", [], "already_paid"),
    ("AWAITING_PAYMENT", ["processing"], "payment_in_progress"),
    ("AWAITING_PAYMENT", ["failed"], "payment_failed"),
    ("EXPIRED", [], "illegal_transition"),
    ("PENDING", [], "illegal_transition"),
    ("CANCELLED", [], "illegal_transition"),
])
def test_who_may_not_pay(order_status, payments, code):
    with pytest.raises(Conflict) as info:
        check_payable(order_status, LATER, NOW, 1000, payments)
    assert info.value.code == code


def test_an_order_past_its_hold_or_with_nothing_to_pay_cannot_be_paid():
    with pytest.raises(Conflict, match="expired"):
        check_payable("AWAITING_PAYMENT", NOW, NOW, 1000, [])
    with pytest.raises(Conflict) as info:
        check_payable("AWAITING_PAYMENT", LATER, NOW, 0, [])
    assert info.value.code == "nothing_to_pay"
    assert check_payable("AWAITING_PAYMENT", LATER, NOW, 1000, []) is None


def test_the_worker_charges_only_an_order_still_waiting():
    assert charge_refusal("AWAITING_PAYMENT", LATER, NOW) is None
    assert charge_refusal("AWAITING_PAYMENT", NOW, NOW) == "order_expired"
    assert charge_refusal("CANCELLED", LATER, NOW) == "order_cancelled"


@pytest.mark.parametrize(("order_status", "due"), [
    ("CANCELLED", True), ("EXPIRED", True), ("PAYMENT_FAILED", True), ("REJECTED", True),
    ("AWAITING_PAYMENT", False), ("PAID", False), ("FULFILLING", False), ("COMPLETED", False),
])
def test_orders_that_keep_no_money_get_refunds(order_status, due):
    assert refund_due(order_status) is due
