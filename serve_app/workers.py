"""What event workers get, and the list of workers the application runs.

A worker is a handler factory, "module:function", taking a `WorkerContext`.
Each runs as its own `EventWorker` Serve deployment (serve_app/deployments.py)
reading its own durable JetStream consumer.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from nats.aio.client import Client as NATS
from psycopg_pool import AsyncConnectionPool

from config import Settings
from events.consumer import ConsumerPolicy

# name -> factory. Each issue's workers register here.
WORKERS: dict[str, str] = {
    "orders": "actors.orders.consumer:build",
    "payments": "actors.payments.worker:build",
    "notifications": "actors.notifications.worker:build",
    "delivery": "actors.delivery.worker:build",
}


@dataclass
class WorkerContext:
    settings: Settings
    pool: AsyncConnectionPool
    nats: NATS
    actors: Any  # actors.runtime.client.ActorClient
    closers: list[Callable] = field(default_factory=list)

    def policy(self) -> ConsumerPolicy:
        return ConsumerPolicy()

    async def close(self) -> None:
        for close in self.closers:
            result = close()
            if hasattr(result, "__await__"):
                await result


def load_factory(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)
