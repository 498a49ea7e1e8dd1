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
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import ray
from psycopg_pool import AsyncConnectionPool

from actors.runtime.committer import GroupCommitter
from actors.runtime.entity import Effect, Entity, Fenced, TimerFired, Wake
from actors.runtime.placement import Placement
from actors.runtime.virtual import VirtualActor
from config import Settings
from domain.errors import DomainError, NotFound, RateLimited
from storage.pool import open_pool

log = logging.getLogger(__name__)

SHARD_NAME = "commerce-shard-{}"
# A Ray actor inherits the runtime_env of whoever creates it, and shards are
# created by whichever caller asks first (the ingress, a worker, a CLI). The
# ingress opts out of uvloop (serve_app/deployments.py); shards keep Ray's
# default, uvloop, which measured ~5% faster for them (they take no
# connections of their own), whoever creates them.
SHARD_RUNTIME_ENV = {"env_vars": {"RAY_USE_UVLOOP": "1"}}
DEFAULT_IDLE_TTL_S = 300.0
DEFAULT_MAX_BATCH = 1024
DEFAULT_DUE_SWEEP_S = 5.0

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
        placement: Placement | None = None, actors: Any = None, due_sweep_s: float = DEFAULT_DUE_SWEEP_S,
    ):
        self.shard_id = shard_id
        self.placement = placement
        self.actors = actors  # an ActorClient, for effects that talk to other actors
        self._timers: dict[tuple[str, str], dict[str, tuple[Any, asyncio.TimerHandle]]] = {}
        self._effects: dict[tuple[str, str, str], asyncio.Task] = {}
        self.epoch = 0
        self.fenced = False
        self._pool = pool
        self._entities = dict(entities)
        self._idle_ttl_s = idle_ttl_s
        self._max_batch = max_batch
        self._on_fenced_hook = on_fenced
        self._actors: dict[tuple[str, str], VirtualActor] = {}
        self.committer = GroupCommitter(pool)
        self.activations = 0
        self._retired: dict[str, Counter] = defaultdict(Counter)  # batch counts of actors no longer hosted
        self._due_sweep_s = due_sweep_s
        self._sweeper: asyncio.Task | None = None

    async def start(self) -> ShardCore:
        self.epoch = await take_epoch(self._pool, self.shard_id)
        log.info("shard %s incarnation took epoch %s", self.shard_id, self.epoch)
        await self._wake_keys_needing_attention()
        if self.placement is not None and self._due_sweep_s > 0:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever(), name="due-keys-sweep")
        return self

    async def _wake_keys_needing_attention(self) -> None:
        """Re-arm timers and resume effects of this shard's keys after a (re)start."""
        if self.placement is None:
            return
        if woken := await self._wake_own_keys("keys_needing_attention"):
            log.info("shard %s woke %d actors needing attention", self.shard_id, woken)

    async def _sweep_forever(self) -> None:
        while not self.fenced:
            await asyncio.sleep(self._due_sweep_s)
            try:
                await self.wake_due_keys()
            except Exception as exc:  # the next sweep tries again
                log.warning("shard %s due-keys sweep failed: %r", self.shard_id, exc)

    async def wake_due_keys(self) -> int:
        """Wake this shard's keys whose durable due date passed (EntityBase.keys_due):
        an actor that was never activated has no timer armed. Returns how many."""
        return await self._wake_own_keys("keys_due")

    async def _wake_own_keys(self, finder_name: str) -> int:
        """Wake the keys on this shard that each entity kind's `finder_name` query returns."""
        woken = 0
        for kind, entity in self._entities.items():
            finder = getattr(entity, finder_name, None)
            if finder is None:
                continue
            async with self._pool.connection() as conn:
                keys = await finder(conn)
            for key in keys:
                if self.placement.shard_for(key) == self.shard_id:
                    self._fire_and_forget(kind, key, Wake())
                    woken += 1
        return woken

    def _fire_and_forget(self, kind: str, key: str, command: Any) -> None:
        try:
            future = self.tell(kind, key, command)
        except DomainError:
            return
        future.add_done_callback(lambda f: f.exception())  # retrieved: no "never retrieved" noise

    # -- timers and effects, derived from committed state --------------------

    def _reconcile(self, actor: VirtualActor) -> None:
        kind, key, entity = actor.entity.kind, actor.key, actor.entity
        if actor.state is None:
            return
        wanted = entity.timers(actor.state) if hasattr(entity, "timers") else {}
        armed = self._timers.setdefault((kind, key), {})
        loop = asyncio.get_running_loop()
        for name in list(armed):
            due, handle = armed[name]
            if wanted.get(name) != due:
                handle.cancel()
                del armed[name]
        for name, due in wanted.items():
            if name not in armed:
                delay = max(0.0, due.timestamp() - time.time())
                handle = loop.call_later(delay, self._fire_timer, kind, key, name)
                armed[name] = (due, handle)
        if not armed:
            self._timers.pop((kind, key), None)
        effects = entity.effects(actor.state) if hasattr(entity, "effects") else {}
        for name, effect in effects.items():
            if (kind, key, name) not in self._effects:
                self._effects[(kind, key, name)] = loop.create_task(self._run_effect(kind, key, name, effect))

    def _fire_timer(self, kind: str, key: str, name: str) -> None:
        armed = self._timers.get((kind, key), {})
        armed.pop(name, None)
        self._fire_and_forget(kind, key, TimerFired(name))

    async def _run_effect(self, kind: str, key: str, name: str, effect: Effect) -> None:
        """Run until it succeeds (it is idempotent); then hand its result to the actor."""
        delay = 0.1
        context = _EffectContext(self, kind, key)
        try:
            while not self.fenced:
                try:
                    command = await effect(context)
                    if command is not None:
                        await self.call(kind, key, command)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("effect %s of %s %s failed (%r); retrying in %.1fs", name, kind, key, exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
        finally:
            self._effects.pop((kind, key, name), None)
            actor = self._actors.get((kind, key))
            if actor is not None and actor.alive:
                self._reconcile(actor)  # the state may still want it (e.g. its result was refused)
    def _actor(self, kind: str, key: str) -> VirtualActor:
        actor = self._actors.get((kind, key))
        if actor is None or not actor.alive:
            entity = self._entities.get(kind)
            if entity is None:
                raise NotFound(f"No entity kind {kind!r} on this shard.", code="unknown_entity_kind")
            if actor is not None:
                self._retire(actor)
            actor = VirtualActor(
                entity, key, self._pool, self.committer, self, idle_ttl_s=self._idle_ttl_s, max_batch=self._max_batch,
                on_passivate=self._forget, on_fenced=self._fenced, on_state=self._reconcile,
            )
            self._actors[(kind, key)] = actor
            self.activations += 1
        return actor

    def _forget(self, actor: VirtualActor) -> None:
        if self._actors.get((actor.entity.kind, actor.key)) is actor:
            del self._actors[(actor.entity.kind, actor.key)]
            self._retire(actor)

    def _retire(self, actor: VirtualActor) -> None:
        self._retired[actor.entity.kind].update(batches=actor.batches, messages=actor.messages)

    def batch_stats(self) -> dict[str, dict[str, int]]:
        """Per entity kind, since this incarnation started: committed batches and the
        messages they answered. Messages per batch is how much group commit saves."""
        totals = defaultdict(Counter, {kind: Counter(counts) for kind, counts in self._retired.items()})
        for actor in self._actors.values():
            totals[actor.entity.kind].update(batches=actor.batches, messages=actor.messages)
        return {kind: {"batches": counts["batches"], "messages": counts["messages"]} for kind, counts in totals.items()}

    def _fenced(self) -> None:
        if not self.fenced:
            self.fenced = True
            log.error("shard %s epoch %s was fenced off by a newer incarnation", self.shard_id, self.epoch)
            if self._on_fenced_hook:
                self._on_fenced_hook()

    def tell(self, kind: str, key: str, command: Any) -> asyncio.Future:
        if self.fenced:
            raise Fenced(f"Shard {self.shard_id} epoch {self.epoch} is fenced off; retry.")
        actor = self._actor(kind, key)
        entity = actor.entity
        limit = getattr(entity, "admission_limit", None)
        if limit and isinstance(command, entity.admission_controlled) and actor.queue_length >= limit:
            raise RateLimited("Too many requests are waiting for this item; retry shortly.",
                              code="busy", retry_after_s=1, details={"queue": actor.queue_length})
        return actor.tell(command)

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
        self._retire(actor)
        return True

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for armed in self._timers.values():
            for _, handle in armed.values():
                handle.cancel()
        self._timers.clear()
        for task in list(self._effects.values()):
            task.cancel()
        for actor in list(self._actors.values()):
            await actor.stop()
        self._actors.clear()


class _EffectContext:
    def __init__(self, core: ShardCore, kind: str, key: str):
        self._core, self._kind, self._key = core, kind, key
        self.actors = core.actors

    async def tell_self(self, command: Any) -> Any:
        return await self._core.call(self._kind, self._key, command)


def default_entities(settings: Settings) -> dict[str, Entity]:
    from actors.inventory.entity import ProductEntity
    from actors.orders.entity import OrderEntity

    return {
        ProductEntity.kind: ProductEntity(admission_limit=settings.admission_queue_limit),
        OrderEntity.kind: OrderEntity(settings),
    }


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
        # Start now, not on the first call: a restarted incarnation must take
        # its epoch and wake its keys (timers, unfinished effects) by itself.
        asyncio.get_event_loop().create_task(self._ready())

    async def _ready(self) -> ShardCore:
        if self._core is not None:
            return self._core
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._core is None:
                pool = await open_pool(self._settings.database_url, max_size=8, min_size=2, name=f"shard-{self._shard_id}")
                from actors.runtime.client import ActorClient

                core = ShardCore(
                    self._shard_id, pool, default_entities(self._settings), idle_ttl_s=self._idle_ttl_s,
                    on_fenced=self._exit_soon, actors=ActorClient(self._settings),
                    placement=Placement(self._settings.actor_shards, self._settings.hot_keys),
                    due_sweep_s=self._settings.due_sweep_interval_s,
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
        return {"shard_id": core.shard_id, "epoch": core.epoch, "pid": os.getpid(), "active": core.active_count(),
                "batches": core.batch_stats()}

    async def is_active(self, kind: str, key: str) -> bool:
        return (await self._ready()).is_active(kind, key)

    async def passivate(self, kind: str, key: str) -> bool:
        return await (await self._ready()).passivate(kind, key)
