"""`WORKERS["delivery"]`: the consumer, with the courier simulator running beside it."""

from __future__ import annotations

import asyncio

from actors.delivery.handler import DeliveryHandler
from actors.delivery.simulator import CourierSimulator


def build(context) -> DeliveryHandler:
    """Called inside the worker deployment's event loop; the simulator stops with the worker."""
    settings = context.settings
    if settings.courier_mode == "simulator":
        simulator = CourierSimulator(context.pool, delivery_delay_s=settings.courier_delivery_delay_s)
        stop = asyncio.Event()
        task = asyncio.get_running_loop().create_task(simulator.run(stop))

        async def close() -> None:
            stop.set()
            await asyncio.wait({task}, timeout=10)

        context.closers.append(close)
    return DeliveryHandler(settings)
