"""A shipment's life as one table, and the courier simulator's choices (pure).

    CREATED --picked_up--> PICKED_UP --delivered--> DELIVERED
    CREATED --(order cancelled)--> CANCELLED

A step reported again once the shipment is there or further on is a
`repeat` (no change); anything else not in the table is IllegalTransition.
"""

from __future__ import annotations

import base64
import uuid
from enum import StrEnum

from domain.errors import IllegalTransition


class ShipmentStatus(StrEnum):
    CREATED = "CREATED"
    PICKED_UP = "PICKED_UP"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


class CourierStep(StrEnum):
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"


S = ShipmentStatus
MOVES: dict[tuple[ShipmentStatus, CourierStep], ShipmentStatus] = {
    (S.CREATED, CourierStep.PICKED_UP): S.PICKED_UP,
    (S.PICKED_UP, CourierStep.DELIVERED): S.DELIVERED,
}
# How far along each status is; a step whose target is not ahead is a repeat.
_PROGRESS = {S.CREATED: 0, S.PICKED_UP: 1, S.DELIVERED: 2}
EVENT_FOR_STEP = {CourierStep.PICKED_UP: "DELIVERY_COURIERED_PARTNER", CourierStep.DELIVERED: "DELIVERY_COMPLETED"}

SIMULATED_PARTNER = "SimCourier"


def next_status(current: ShipmentStatus | str, step: CourierStep | str) -> ShipmentStatus | None:
    """The status `step` moves a shipment to; None for a repeat; IllegalTransition otherwise."""
    target = MOVES.get((current, step))
    if target is not None:
        return target
    wanted = {CourierStep.PICKED_UP: S.PICKED_UP, CourierStep.DELIVERED: S.DELIVERED}[CourierStep(step)]
    if current in _PROGRESS and _PROGRESS[ShipmentStatus(current)] >= _PROGRESS[wanted]:
        return None
    raise IllegalTransition(
        f"a {current} shipment cannot be {step}", code="illegal_transition",
        details={"from": str(current), "step": str(step)},
    )


def tracking_number(shipment_id: uuid.UUID) -> str:
    """The simulator's tracking number: derived from the id, so a retried step makes the same one."""
    return "SIM" + base64.b32encode(shipment_id.bytes[:10]).decode().rstrip("=")


class SimAction(StrEnum):
    STEP = "step"  # take the next courier step
    WAIT = "wait"  # the order has not caught up yet: look again shortly
    CANCEL = "cancel"  # the order was cancelled before pickup
    DONE = "done"  # nothing left to simulate


def simulator_action(shipment: ShipmentStatus | str, order_status: str | None) -> tuple[SimAction, CourierStep | None]:
    """What the simulated courier does with a due shipment.

    It waits until the order has taken the previous step (FULFILLING before a
    pickup, SHIPPED before a delivery), so the `orders` consumer never sees a
    step ahead of the order; an order moved on by other means does not hold it up.
    """
    if shipment == S.CREATED:
        if order_status == "CANCELLED":
            return SimAction.CANCEL, None
        if order_status == "PAID":
            return SimAction.WAIT, None
        return SimAction.STEP, CourierStep.PICKED_UP
    if shipment == S.PICKED_UP:
        if order_status == "FULFILLING":
            return SimAction.WAIT, None
        return SimAction.STEP, CourierStep.DELIVERED
    return SimAction.DONE, None
