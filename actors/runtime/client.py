"""How callers reach a virtual actor: placement, micro-batching, bounded retries.

Concurrent asks for keys on the same shard are coalesced into one Ray call
(`Shard.call_batch`): while a call is in flight, new asks queue up and leave
together in the next one. Idle traffic pays no delay; busy traffic pays one
Ray round trip per batch instead of per ask.

A dead or restarting shard, a timeout, or a retryable error from the actor
(storage down, fenced incarnation) is retried within a bound: the handle is
refreshed once, then the ask is repeated with backoff. Every command is
idempotent by its id, so a repeat after an ambiguous failure is safe. When
the bound is spent, the caller gets `Unavailable` (HTTP 503, Retry-After).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from typing import Any

from ray.exceptions import ActorUnavailableError, RayActorError, RayTaskError

from actors.runtime.placement import Placement
from actors.runtime.shard import SHARD_NAME, SHARD_RUNTIME_ENV, Shard
from config import Settings
from domain.errors import DomainError, Unavailable

log = logging.getLogger(__name__)

RAY_NAMESPACE = "commerce"
_RETRYABLE_RAY = (RayActorError, ActorUnavailableError, RayTaskError, TimeoutError)


class ActorClient:
    def __init__(
        self, settings: Settings, *, call_timeout_s: float = 10.0, max_attempts: int = 6,
        max_in_flight: int = 2, max_batch: int = 2048,
    ):
        self.settings = settings
        self.placement = Placement(settings.actor_shards, settings.hot_keys)
        self._call_timeout_s = call_timeout_s
        self._max_attempts = max_attempts
        self._max_in_flight = max_in_flight
        self._max_batch = max_batch
        self._handles: dict[int, Any] = {}
        self._queues: dict[int, list[tuple[str, str, Any, asyncio.Future]]] = defaultdict(list)
        self._flushers: dict[int, int] = defaultdict(int)

    # -- handles -----------------------------------------------------------

    def handle(self, shard_id: int, *, refresh: bool = False):
        if refresh or shard_id not in self._handles:
            self._handles[shard_id] = Shard.options(
                name=SHARD_NAME.format(shard_id), namespace=RAY_NAMESPACE,
                lifetime="detached", get_if_exists=True, runtime_env=SHARD_RUNTIME_ENV,
            ).remote(shard_id, self.settings)
        return self._handles[shard_id]

    def all_shards(self) -> range:
        return range(self.placement.total_shards)

    async def ping_all(self, timeout_s: float = 5.0) -> list[dict]:
        return await asyncio.wait_for(
            asyncio.gather(*(self.ping(shard) for shard in self.all_shards())), timeout_s
        )

    async def ping(self, shard_id: int) -> dict:
        """The shard's `Shard.ping()`: its incarnation, active actors and batch counts."""
        try:
            return await self.handle(shard_id).ping.remote()
        except _RETRYABLE_RAY:
            return await self.handle(shard_id, refresh=True).ping.remote()

    # -- asking ------------------------------------------------------------

    async def ask(self, kind: str, key: str, command: Any) -> Any:
        """Send one command to the virtual actor for `key` and wait for its reply."""
        shard_id = self.placement.shard_for(key)
        delay = 0.05
        last_error: BaseException | None = None
        for attempt in range(self._max_attempts):
            try:
                return await self._enqueue(shard_id, kind, key, command)
            except Unavailable as exc:  # retryable answer from the actor itself
                last_error = exc
            except _RETRYABLE_RAY as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(exc, RayTaskError) and isinstance(cause, DomainError) and not isinstance(cause, Unavailable):
                    raise cause from None
                last_error = exc
                if attempt == 0:
                    self.handle(shard_id, refresh=True)
            log.info("ask %s %s attempt %d failed: %r", kind, key, attempt + 1, last_error)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 3, 2.0)
        raise Unavailable(
            "The actor for this key is not answering; retry shortly.",
            code="actor_unavailable", details={"shard": shard_id},
        )

    def _enqueue(self, shard_id: int, kind: str, key: str, command: Any) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._queues[shard_id].append((kind, key, command, future))
        if self._flushers[shard_id] < self._max_in_flight:
            self._flushers[shard_id] += 1
            asyncio.get_running_loop().create_task(self._flush(shard_id))
        return future

    async def _flush(self, shard_id: int) -> None:
        queue = self._queues[shard_id]
        try:
            while queue:
                batch = queue[: self._max_batch]
                del queue[: self._max_batch]
                items = [(kind, key, command) for kind, key, command, _ in batch]
                try:
                    ref = self.handle(shard_id).call_batch.remote(items)
                    outcomes = await asyncio.wait_for(ref, self._call_timeout_s)
                except BaseException as exc:  # the whole call failed: every ask sees it
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc if isinstance(exc, Exception) else Unavailable(str(exc)))
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (*_, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self._flushers[shard_id] -= 1
