"""Shipment steps with their events: each write and its DELIVERY_* event in one transaction.

Used by the consumer (open, cancel), the simulator and the courier webhook
(steps). Every function takes the caller's open transaction; steps expect
the shipment row locked (`storage.shipments.lock` / `claim_due`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from psycopg_pool import AsyncConnectionPool

from actors.delivery.shipment import EVENT_FOR_STEP, CourierStep, ShipmentStatus, next_status
from actors.delivery.webhook import CourierReport
from domain.errors import Conflict, NotFound
from events.envelope import NewEvent
from events.outbox import append_events
from storage import shipments as sql

# A shipment's id follows from its order's, so a retried open makes the same one.
_SHIPMENT_NAMESPACE = uuid.UUID("6f1c2a8e-5d0b-4c57-9a43-0e8f3b7d2c61")
StepResult = Literal["applied", "duplicate", "no_change"]


def shipment_id_for(order_id: str) -> uuid.UUID:
    return uuid.uuid5(_SHIPMENT_NAMESPACE, str(order_id))


async def open_shipment(conn, order_id: str, *, courier: str, first_step_in_s: float | None) -> dict | None:
    """CREATED shipment + DELIVERY_STARTED; None if the order already has a shipment."""
    shipment_id = shipment_id_for(order_id)
    shipment = await sql.insert(conn, shipment_id, order_id, courier=courier, first_step_in_s=first_step_in_s)
    if shipment is None:
        return None
    event = NewEvent(type="DELIVERY_STARTED", aggregate_id=str(shipment_id),
                     data={"order_id": str(order_id), "shipment_id": str(shipment_id), "courier": courier})
    await sql.add_event(conn, shipment_id, status=ShipmentStatus.CREATED, source="system",
                        external_id=f"created:{shipment_id}", event_id=event.id)
    await append_events(conn, [event])
    return shipment


async def apply_step(
    conn, shipment: dict, step: CourierStep, *, source: str, external_id: str, partner: str | None,
    tracking_number: str | None, next_step_in_s: float | None = None,
) -> StepResult:
    """Move the (locked) shipment one step and emit its event; replays and repeats change nothing."""
    if await sql.event_seen(conn, source, external_id):
        return "duplicate"
    target = next_status(shipment["status"], step)  # IllegalTransition for a move the table lacks
    if target is None:
        return "no_change"
    partner = shipment["partner"] or partner
    tracking_number = shipment["tracking_number"] or tracking_number
    data = {"order_id": str(shipment["order_id"]), "shipment_id": str(shipment["id"])}
    if step == CourierStep.PICKED_UP:
        data |= {"partner": partner, "tracking_number": tracking_number}
    event = NewEvent(type=EVENT_FOR_STEP[step], aggregate_id=str(shipment["id"]), data=data)
    if not await sql.add_event(conn, shipment["id"], status=target, source=source, external_id=external_id,
                               event_id=event.id, details={"partner": partner, "tracking_number": tracking_number}):
        return "duplicate"  # the same report raced in for another shipment
    await sql.update(conn, shipment["id"], status=target, partner=partner, tracking_number=tracking_number,
                     next_step_in_s=next_step_in_s)
    await append_events(conn, [event])
    return "applied"


async def cancel(conn, shipment: dict, reason: str) -> bool:
    """Cancel a shipment that has not been picked up; False when it is too late (or done)."""
    if shipment["status"] != ShipmentStatus.CREATED:
        return False
    await sql.update(conn, shipment["id"], status=ShipmentStatus.CANCELLED, partner=shipment["partner"],
                     tracking_number=shipment["tracking_number"], next_step_in_s=None)
    await sql.add_event(conn, shipment["id"], status=ShipmentStatus.CANCELLED, source="system",
                        external_id=f"cancelled:{shipment['id']}", details={"reason": reason})
    return True


async def report_from_partner(pool: AsyncConnectionPool, report: CourierReport) -> dict:
    """The courier webhook's use case: `{result, shipment}`; 404 for an unknown shipment."""
    async with pool.connection() as conn, conn.transaction():
        if report.shipment_id is not None:
            shipment = await sql.lock(conn, shipment_id=report.shipment_id)
        else:
            shipment = await sql.lock(conn, tracking_number=report.tracking_number)
        if shipment is None:
            raise NotFound("No such shipment.", code="shipment_not_found")
        if shipment["status"] == ShipmentStatus.CANCELLED:
            raise Conflict("The shipment was cancelled.", code="shipment_cancelled")
        step = CourierStep(report.status)
        tracking = report.tracking_number or f"P-{str(shipment['id'])[:8].upper()}"
        result = await apply_step(conn, shipment, step, source="webhook", external_id=report.event_id,
                                  partner=report.partner or "partner", tracking_number=tracking)
        shipment = await sql.lock(conn, shipment_id=shipment["id"])
    return {"result": result, "shipment": view(shipment)}


def view(shipment: dict) -> dict:
    """JSON-ready shipment (with `events` when loaded by `storage.shipments.tracking`)."""
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    out = {
        "id": str(shipment["id"]), "order_id": str(shipment["order_id"]), "status": shipment["status"],
        "courier": shipment["courier"], "partner": shipment["partner"],
        "tracking_number": shipment["tracking_number"], "created_at": iso(shipment["created_at"]),
        "updated_at": iso(shipment["updated_at"]),
    }
    if "events" in shipment:
        out["events"] = [{"status": e["status"], "source": e["source"], "details": e["details"],
                          "occurred_at": iso(e["occurred_at"])} for e in shipment["events"]]
    return out
