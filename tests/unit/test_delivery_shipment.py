"""Shipment moves, repeats and refusals; what the simulated courier does next."""

from __future__ import annotations

import uuid

import pytest

from actors.delivery.shipment import (
    CourierStep, ShipmentStatus, SimAction, next_status, simulator_action, tracking_number,
)
from domain.errors import IllegalTransition

S, C = ShipmentStatus, CourierStep


@pytest.mark.parametrize("current,step,target", [
    (S.CREATED, C.PICKED_UP, S.PICKED_UP),
    (S.PICKED_UP, C.DELIVERED, S.DELIVERED),
])
def test_the_courier_moves_a_shipment_forward(current, step, target):
    assert next_status(current, step) == target


@pytest.mark.parametrize("current,step", [
    (S.PICKED_UP, C.PICKED_UP), (S.DELIVERED, C.PICKED_UP), (S.DELIVERED, C.DELIVERED),
])
def test_a_step_already_taken_is_a_repeat(current, step):
    assert next_status(current, step) is None


@pytest.mark.parametrize("current,step", [
    (S.CREATED, C.DELIVERED), (S.CANCELLED, C.PICKED_UP), (S.CANCELLED, C.DELIVERED),
])
def test_anything_else_is_an_illegal_transition(current, step):
    with pytest.raises(IllegalTransition) as refused:
        next_status(current, step)
    assert refused.value.details == {"from": str(current), "step": str(step)}


@pytest.mark.parametrize("shipment,order,action,step", [
    (S.CREATED, "FULFILLING", SimAction.STEP, C.PICKED_UP),
    (S.CREATED, "PAID", SimAction.WAIT, None),  # the order has not started fulfilment yet
    (S.CREATED, "CANCELLED", SimAction.CANCEL, None),
    (S.CREATED, "COMPLETED", SimAction.STEP, C.PICKED_UP),  # moved on by other means: do not hold up
    (S.PICKED_UP, "SHIPPED", SimAction.STEP, C.DELIVERED),
    (S.PICKED_UP, "FULFILLING", SimAction.WAIT, None),  # the order has not taken the pickup yet
    (S.DELIVERED, "COMPLETED", SimAction.DONE, None),
    (S.CANCELLED, "CANCELLED", SimAction.DONE, None),
])
def test_the_simulated_courier_keeps_step_with_the_order(shipment, order, action, step):
    assert simulator_action(shipment, order) == (action, step)


def test_tracking_numbers_are_stable_per_shipment_and_distinct_across_shipments():
    one, other = uuid.uuid4(), uuid.uuid4()
    assert tracking_number(one) == tracking_number(one)
    assert tracking_number(one) != tracking_number(other)
    assert tracking_number(one).startswith("SIM") and tracking_number(one).isalnum()
