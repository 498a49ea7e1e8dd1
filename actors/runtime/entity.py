"""What an entity kind gives the runtime, and the runtime's own failures.

An entity kind is three steps around a pure state object:
`load` (activation), `apply` (pure rules, one command at a time, on a clone)
and `persist` (the batch's changes in the caller's open transaction). The
runtime owns the transaction, the epoch check and the replies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from psycopg import AsyncConnection

from domain.errors import Unavailable


class Fenced(Unavailable):
    """A write came from a shard incarnation older than the current epoch."""

    code = "fenced"


class StaleState(Unavailable):
    """The stored entity moved on without us (e.g. a key that changed shards)."""

    code = "stale_state"


class Redecide(Exception):
    """Raised by `persist`: some commands cannot be written as decided, because what
    they would create exists already (e.g. an order placed meanwhile by another path).

    The runtime drops the batch's writes, answers every command for which
    `answer(command)` is not None with that answer, and decides the rest of the
    batch again on a fresh clone. Rare by design: callers check first, so this
    only settles races."""

    def __init__(self, answer: Callable[[Any], Any]):
        super().__init__("some commands of the batch must be decided again")
        self.answer = answer


@dataclass(frozen=True)
class Wake:
    """Activate the actor and reconcile its timers and effects; changes nothing."""


@dataclass(frozen=True)
class TimerFired:
    name: str


class EffectContext(Protocol):
    """What an effect may use: other actors, and a way to message its own actor."""

    actors: Any  # actors.runtime.client.ActorClient

    async def tell_self(self, command: Any) -> Any: ...


# An effect runs after a commit, outside the mailbox, until it succeeds; the
# entity derives the effects it wants from its durable state, so a restarted
# shard resumes them. It may return a command for its own actor.
Effect = Callable[[EffectContext], Awaitable[Any]]


class WriteContext(Protocol):
    shard_id: int
    epoch: int


class Entity(Protocol):
    kind: str

    async def load(self, conn: AsyncConnection, key: str) -> Any:
        """State for `key`; raise a DomainError (e.g. NotFound) if it cannot exist."""

    def clone(self, state: Any) -> Any:
        """An independent copy the batch may change; dropped if the commit fails."""

    def dirty(self, before: Any, after: Any) -> bool:
        """Whether the batch changed anything to write."""

    def adopt(self, before: Any, after: Any) -> Any:
        """The state to keep once the batch committed (may reuse `before`'s storage)."""

    def apply(self, state: Any, command: Any) -> Any:
        """Apply one command to the clone and return its reply, or raise a DomainError."""

    async def persist(self, conn: AsyncConnection, before: Any, after: Any, ctx: WriteContext) -> None:
        """Write the batch's changes. Must check `ctx.epoch` atomically with the
        state write (raise Fenced) and the stored version (raise StaleState).
        May run twice (a shared transaction that failed is retried write by
        write), so it must not change the states it is given."""


class EntityBase:
    """Defaults for the optional parts of an entity kind."""

    def timers(self, state: Any) -> dict[str, datetime]:
        """Timers the state wants armed now: name -> due time (UTC)."""
        return {}

    def effects(self, state: Any) -> dict[str, Effect]:
        """Effects the state wants running now: name -> effect."""
        return {}

    async def keys_needing_attention(self, conn: AsyncConnection) -> list[str]:
        """Keys to wake when a shard starts (timers to re-arm, effects to resume)."""
        return []

    async def keys_due(self, conn: AsyncConnection) -> list[str]:
        """Keys whose durable due date has passed, woken by the shard's periodic sweep:
        timers of actors that were never activated (e.g. created by another actor)."""
        return []
