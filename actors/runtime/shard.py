"""A shard: one process hosting many virtual actors, fenced by an epoch.

`ShardCore` is plain asyncio (tests drive it directly, e.g. two incarnations
of one shard to show fencing); `Shard` is the Ray actor around it: named,
detached, `max_restarts=-1`. A fenced incarnation exits so that Ray restarts
it, and the restart takes a fresh epoch.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import ray
from psycopg_pool import AsyncConnectionPool

from actors.runtime.entity import Entity, Fenced
from actors.runtime.virtual import VirtualActor
from config import Settings
from domain.errors import DomainError, NotFound
from storage.pool import open_pool

log = logging.getLogger(__name__)

SHARD_NAME = "commerce-shard-{}"
DEFAULT_IDLE_TTL_S = 300.0
DEFAULT_MAX_BATCH = 1024

# A reply crosses the Ray boundary as (ok, value): one failed command must not
# fail the other commands that shared its Ray call.
Outcome = tuple[bool, Any]


async def take_epoch(pool: AsyncConnectionPool, shard_id: int) -> int:
    async with pool.connection() as conn:
        row = await (await conn.execute(
            """INSERT INTO shard_epochs (shard_id, epoch) VALUES (%s, 1)
               ON CONFLICT (shard_id) DO UPDATE SET epoch = shard_epochs.epoch + 1, taken_at = now()
               RETURNING epoch""",
            (shard_id,),
        )).fetchone()
        await conn.commit()
    return row["epoch"]


class ShardCore:
    def __init__(
        self, shard_id: int, pool: AsyncConnectionPool, entities: Mapping[str, Entity], *,
        idle_ttl_s: float = DEFAULT_IDLE_TTL_S, max_batch: int = DEFAULT_MAX_BATCH,
        on_fenced: Callable[[], None] | None = None,
    ):
        self.shard_id = shard_id
        self.epoch = 0
        self.fenced = False
        self._pool = pool
        self._entities = dict(entities)
        self._idle_ttl_s = idle_ttl_s
        self._max_batch = max_batch
        self._on_fenced_hook = on_fenced
        self._actors: dict[tuple[str, str], VirtualActor] = {}
        self.activations = 0

    async def start(self) -> ShardCore:
        self.epoch = await take_epoch(self._pool, self.shard_id)
        log.info("shard %s incarnation took epoch %s", self.shard_id, self.epoch)
        return self

    def _actor(self, kind: str, key: str) -> VirtualActor:
        actor = self._actors.get((kind, key))
        if actor is None or not actor.alive:
            entity = self._entities.get(kind)
            if entity is None:
                raise NotFound(f"No entity kind {kind!r} on this shard.", code="unknown_entity_kind")
            actor = VirtualActor(
                entity, key, self._pool, self, idle_ttl_s=self._idle_ttl_s, max_batch=self._max_batch,
                on_passivate=self._forget, on_fenced=self._fenced,
            )
            self._actors[(kind, key)] = actor
            self.activations += 1
        return actor

    def _forget(self, actor: VirtualActor) -> None:
        if self._actors.get((actor.entity.kind, actor.key)) is actor:
            del self._actors[(actor.entity.kind, actor.key)]

    def _fenced(self) -> None:
        if not self.fenced:
            self.fenced = True
            log.error("shard %s epoch %s was fenced off by a newer incarnation", self.shard_id, self.epoch)
            if self._on_fenced_hook:
                self._on_fenced_hook()

    def tell(self, kind: str, key: str, command: Any) -> asyncio.Future:
        if self.fenced:
            raise Fenced(f"Shard {self.shard_id} epoch {self.epoch} is fenced off; retry.")
        return self._actor(kind, key).tell(command)

    async def call(self, kind: str, key: str, command: Any) -> Any:
        return await self.tell(kind, key, command)

    async def call_batch(self, items: list[tuple[str, str, Any]]) -> list[Outcome]:
        futures = []
        for kind, key, command in items:
            try:
                futures.append(self.tell(kind, key, command))
            except DomainError as exc:
                failed = asyncio.get_running_loop().create_future()
                failed.set_exception(exc)
                futures.append(failed)
        results = await asyncio.gather(*futures, return_exceptions=True)
        return [(not isinstance(r, BaseException), r) for r in results]

    def is_active(self, kind: str, key: str) -> bool:
        actor = self._actors.get((kind, key))
        return actor is not None and actor.alive

    def active_count(self) -> int:
        return sum(1 for actor in self._actors.values() if actor.alive)

    async def passivate(self, kind: str, key: str) -> bool:
        """Stop a virtual actor now (tests and admin); its state is already in PostgreSQL."""
        actor = self._actors.pop((kind, key), None)
        if actor is None:
            return False
        await actor.stop()
        return True

    async def close(self) -> None:
        for actor in list(self._actors.values()):
            await actor.stop()
        self._actors.clear()


def default_entities() -> dict[str, Entity]:
    from actors.inventory.entity import ProductEntity

    return {ProductEntity.kind: ProductEntity()}


@ray.remote(max_restarts=-1, max_task_retries=0, max_concurrency=10_000, num_cpus=0)
class Shard:
    """The Ray actor. Each (re)start is a new incarnation with a new epoch."""

    def __init__(self, shard_id: int, settings: Settings, idle_ttl_s: float = DEFAULT_IDLE_TTL_S):
        from serve_app.logs import configure_logging

        configure_logging(settings.log_level, settings.log_file)
        self._shard_id = shard_id
        self._settings = settings
        self._idle_ttl_s = idle_ttl_s
        self._core: ShardCore | None = None
        self._starting: asyncio.Lock | None = None

    async def _ready(self) -> ShardCore:
        if self._core is not None:
            return self._core
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._core is None:
                pool = await open_pool(self._settings.database_url, max_size=8, min_size=2, name=f"shard-{self._shard_id}")
                core = ShardCore(
                    self._shard_id, pool, default_entities(), idle_ttl_s=self._idle_ttl_s,
                    on_fenced=self._exit_soon,
                )
                self._core = await core.start()
        return self._core

    @staticmethod
    def _exit_soon() -> None:
        # Not ray.actor.exit_actor(): an intentional exit is not restarted.
        asyncio.get_running_loop().call_later(0.05, os._exit, 1)

    async def call(self, kind: str, key: str, command: Any) -> Any:
        return await (await self._ready()).call(kind, key, command)

    async def call_batch(self, items: list[tuple[str, str, Any]]) -> list[Outcome]:
        return await (await self._ready()).call_batch(items)

    async def ping(self) -> dict:
        core = await self._ready()
        return {"shard_id": core.shard_id, "epoch": core.epoch, "pid": os.getpid(), "active": core.active_count()}

    async def is_active(self, kind: str, key: str) -> bool:
        return (await self._ready()).is_active(kind, key)

    async def passivate(self, kind: str, key: str) -> bool:
        return await (await self._ready()).passivate(kind, key)
