"""`WORKERS["notifications"]`: the consumer, with the dispatcher running beside it."""

from __future__ import annotations

import asyncio

from actors.notifications.dispatcher import Dispatcher
from actors.notifications.handler import NotificationsHandler
from serve_app.notifications.wiring import senders_from_settings


def build(context) -> NotificationsHandler:
    """Called inside the worker deployment's event loop; the dispatcher stops with the worker."""
    dispatcher = Dispatcher(context.pool, senders_from_settings(context.settings))
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(dispatcher.run(stop))

    async def close() -> None:
        stop.set()
        await asyncio.wait({task}, timeout=10)

    context.closers.append(close)
    return NotificationsHandler()
