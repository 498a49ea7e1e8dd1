"""The embedded courier: drives simulated shipments from due times stored in PostgreSQL.

Nothing lives in memory: a shipment's next step is due at `next_step_at`.
Each round claims one due shipment (`FOR UPDATE SKIP LOCKED`) and writes the
step, its shipment event and its DELIVERY_* event in one transaction, so a
restarted (or a second) simulator resumes exactly where the last commit left
off, and never takes a step twice.
"""

from __future__ import annotations

import asyncio
import logging

from psycopg_pool import AsyncConnectionPool

from actors.delivery import service
from actors.delivery.shipment import SIMULATED_PARTNER, CourierStep, SimAction, simulator_action, tracking_number
from storage import shipments as sql

log = logging.getLogger(__name__)

POLL_S = 0.5
# How soon to look again at a shipment whose order has not caught up.
RECHECK_S = 1.0
FAILED_RETRY_S = 30.0


class CourierSimulator:
    def __init__(self, pool: AsyncConnectionPool, *, delivery_delay_s: float):
        """The pickup delay is scheduled when the shipment opens (`handler.py`)."""
        self._pool = pool
        self._delivery_delay_s = delivery_delay_s
        self.steps = 0

    async def step_one(self) -> bool:
        """Handle one due shipment, if any; True if one was due."""
        async with self._pool.connection() as conn, conn.transaction():
            shipment = await sql.claim_due(conn)
            if shipment is None:
                return False
            try:
                async with conn.transaction():  # a savepoint: a failed step must not block the queue
                    await self._act(conn, shipment)
            except Exception:
                log.exception("courier simulator: shipment %s failed; retrying in %ss", shipment["id"], FAILED_RETRY_S)
                await sql.reschedule(conn, shipment["id"], FAILED_RETRY_S)
        return True

    async def _act(self, conn, shipment: dict) -> None:
        action, step = simulator_action(shipment["status"], await sql.order_status(conn, shipment["order_id"]))
        if action == SimAction.WAIT:
            await sql.reschedule(conn, shipment["id"], RECHECK_S)
        elif action == SimAction.CANCEL:
            await service.cancel(conn, shipment, "order cancelled before pickup")
        elif action == SimAction.DONE:
            await sql.reschedule(conn, shipment["id"], None)
        else:
            await service.apply_step(
                conn, shipment, step, source="simulator", external_id=f"{shipment['id']}:{step}",
                partner=SIMULATED_PARTNER, tracking_number=tracking_number(shipment["id"]),
                next_step_in_s=self._delivery_delay_s if step == CourierStep.PICKED_UP else None,
            )
            self.steps += 1

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if await self.step_one():
                    continue
            except Exception as exc:  # PostgreSQL away: the due times wait in the table
                log.warning("courier simulator round failed: %r", exc)
            try:
                await asyncio.wait_for(stop.wait(), POLL_S)
            except TimeoutError:
                pass
