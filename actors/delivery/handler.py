"""The `delivery` consumer: ORDER_PAID opens a shipment; ORDER_CANCELLED stops one.

Both effects commit with the inbox row. A shipment is opened only while the
order is still PAID (or already FULFILLING): an ORDER_PAID handled late,
after the order was cancelled, ships nothing.
"""

from __future__ import annotations

import logging

from actors.delivery import service
from config import Settings
from events.consumer import PoisonEvent
from events.envelope import EventEnvelope, subject_for
from storage import shipments as sql

log = logging.getLogger(__name__)

SHIPPABLE = frozenset({"PAID", "FULFILLING"})


class DeliveryHandler:
    consumer = "delivery"
    subjects = (subject_for("ORDER_PAID"), subject_for("ORDER_CANCELLED"))

    def __init__(self, settings: Settings):
        self._courier = settings.courier_mode
        self._pickup_in_s = settings.courier_pickup_delay_s if settings.courier_mode == "simulator" else None

    async def handle(self, event: EventEnvelope, tx) -> None:
        order_id = event.data.get("order_id")
        if not order_id:
            raise PoisonEvent(f"{event.type} without order_id")
        if event.type == "ORDER_PAID":
            await self._open(str(order_id), tx)
        else:
            await self._cancel(str(order_id), event.data.get("reason") or "order cancelled", tx)

    async def _open(self, order_id: str, tx) -> None:
        status = await sql.order_status(tx, order_id)
        if status is None:
            raise PoisonEvent(f"ORDER_PAID for an unknown order {order_id}")
        if status not in SHIPPABLE:
            log.info("order %s is %s: no shipment", order_id, status)
            return
        await service.open_shipment(tx, order_id, courier=self._courier, first_step_in_s=self._pickup_in_s)

    async def _cancel(self, order_id: str, reason: str, tx) -> None:
        shipment = await sql.lock(tx, order_id=order_id)
        if shipment is not None and not await service.cancel(tx, shipment, reason):
            log.warning("order %s was cancelled but its shipment is already %s", order_id, shipment["status"])
