"""What an entity kind gives the runtime, and the runtime's own failures.

An entity kind is three steps around a pure state object:
`load` (activation), `apply` (pure rules, one command at a time, on a clone)
and `persist` (the batch's changes in the caller's open transaction). The
runtime owns the transaction, the epoch check and the replies.
"""

from __future__ import annotations

from typing import Any, Protocol

from psycopg import AsyncConnection

from domain.errors import Unavailable


class Fenced(Unavailable):
    """A write came from a shard incarnation older than the current epoch."""

    code = "fenced"


class StaleState(Unavailable):
    """The stored entity moved on without us (e.g. a key that changed shards)."""

    code = "stale_state"


class WriteContext(Protocol):
    shard_id: int
    epoch: int


class Entity(Protocol):
    kind: str

    async def load(self, conn: AsyncConnection, key: str) -> Any:
        """State for `key`; raise a DomainError (e.g. NotFound) if it cannot exist."""

    def clone(self, state: Any) -> Any:
        """An independent copy the batch may change; dropped if the commit fails."""

    def adopt(self, before: Any, after: Any) -> Any:
        """The state to keep once the batch committed (may reuse `before`'s storage)."""

    def apply(self, state: Any, command: Any) -> Any:
        """Apply one command to the clone and return its reply, or raise a DomainError."""

    async def persist(self, conn: AsyncConnection, before: Any, after: Any, ctx: WriteContext) -> None:
        """Write the batch's changes. Must check `ctx.epoch` atomically with the
        state write (raise Fenced) and the stored version (raise StaleState)."""
