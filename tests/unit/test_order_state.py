"""The order state machine: every legal move, and every other pair refused the same way."""

from __future__ import annotations

import itertools
import pickle

import pytest

from actors.orders.state import (
    TERMINAL,
    TRANSITIONS,
    OrderStatus as S,
    OrderTrigger as T,
    needs_refund,
    next_status,
    releases_stock,
)
from domain.errors import Conflict, IllegalTransition

LIFECYCLE = [  # DESIGN.md "Order lifecycle", row by row
    (S.PENDING, T.RESERVED, S.AWAITING_PAYMENT),
    (S.PENDING, T.REJECTED, S.REJECTED),
    (S.AWAITING_PAYMENT, T.PAID, S.PAID),
    (S.AWAITING_PAYMENT, T.PAYMENT_FAILED, S.PAYMENT_FAILED),
    (S.AWAITING_PAYMENT, T.EXPIRE, S.EXPIRED),
    (S.AWAITING_PAYMENT, T.CANCEL, S.CANCELLED),
    (S.PAID, T.START_FULFILMENT, S.FULFILLING),
    (S.PAID, T.CANCEL, S.CANCELLED),
    (S.FULFILLING, T.SHIP, S.SHIPPED),
    (S.FULFILLING, T.CANCEL, S.CANCELLED),
    (S.SHIPPED, T.DELIVER, S.DELIVERED),
    (S.DELIVERED, T.COMPLETE, S.COMPLETED),
]

ILLEGAL = [pair for pair in itertools.product(S, T) if pair not in TRANSITIONS]


def test_table_is_exactly_the_documented_lifecycle():
    assert TRANSITIONS == {(src, trig): dst for src, trig, dst in LIFECYCLE}


@pytest.mark.parametrize(("current", "trigger", "expected"), LIFECYCLE)
def test_legal_moves(current, trigger, expected):
    assert next_status(current, trigger) is expected


def test_plain_strings_work_like_the_enums():
    """Statuses come back from PostgreSQL and JSON as plain strings."""
    assert next_status("PENDING", "RESERVED") is S.AWAITING_PAYMENT


@pytest.mark.parametrize(("current", "trigger"), ILLEGAL)
def test_every_other_pair_is_an_illegal_transition(current, trigger):
    with pytest.raises(IllegalTransition) as info:
        next_status(current, trigger)
    assert info.value.code == "illegal_transition"
    assert info.value.details == {"from": current, "trigger": trigger}
    assert isinstance(info.value, Conflict)  # so the edge maps it to 409


def test_unknown_values_are_illegal_too():
    with pytest.raises(IllegalTransition):
        next_status("NOPE", T.PAID)
    with pytest.raises(IllegalTransition):
        next_status(S.PENDING, "NOPE")


def test_illegal_transition_survives_pickling_across_ray():
    with pytest.raises(IllegalTransition) as info:
        next_status(S.COMPLETED, T.CANCEL)
    again = pickle.loads(pickle.dumps(info.value))
    assert (type(again), again.code, again.details) == (
        IllegalTransition, "illegal_transition", {"from": "COMPLETED", "trigger": "CANCEL"})


def test_terminal_statuses_have_no_way_out():
    assert TERMINAL == {S.REJECTED, S.PAYMENT_FAILED, S.EXPIRED, S.CANCELLED, S.COMPLETED}
    for status, trigger in itertools.product(TERMINAL, T):
        with pytest.raises(IllegalTransition):
            next_status(status, trigger)


def test_every_status_is_reachable_from_pending():
    seen, frontier = {S.PENDING}, [S.PENDING]
    while frontier:
        current = frontier.pop()
        for (src, _), dst in TRANSITIONS.items():
            if src is current and dst not in seen:
                seen.add(dst)
                frontier.append(dst)
    assert seen == set(S)


def test_releases_stock_only_when_an_unpaid_hold_ends():
    expected = {(S.AWAITING_PAYMENT, T.EXPIRE), (S.AWAITING_PAYMENT, T.PAYMENT_FAILED),
                (S.AWAITING_PAYMENT, T.CANCEL)}
    assert {pair for pair in itertools.product(S, T) if releases_stock(*pair)} == expected


def test_needs_refund_only_when_a_paid_order_is_cancelled():
    expected = {(S.PAID, T.CANCEL), (S.FULFILLING, T.CANCEL)}
    assert {pair for pair in itertools.product(S, T) if needs_refund(*pair)} == expected


def test_every_side_effect_move_is_a_legal_move():
    for pair in itertools.product(S, T):
        if releases_stock(*pair) or needs_refund(*pair):
            assert pair in TRANSITIONS
            assert not (releases_stock(*pair) and needs_refund(*pair))
