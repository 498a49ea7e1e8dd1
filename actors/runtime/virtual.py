"""One virtual actor: a mailbox, a runner task, and group commit.

Messages for the key run one at a time in arrival order. The runner drains
everything waiting (up to `max_batch`), applies each command to a clone of
the state, writes the whole batch in ONE transaction (shared with other keys'
batches by the shard's GroupCommitter) and only then answers every caller. A rejected command (a DomainError from `apply`) changes nothing
and is answered after the same commit, since it was decided against the
batch's state. If the transaction fails, the clone is dropped, the state is
forgotten (reloaded on the next message) and every caller in the batch gets a
retryable error: nothing is answered that is not durable. A write that
raises `Redecide` (what a command would create exists already) has those
commands answered as it says, and the rest of the batch decided again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Callable

from psycopg_pool import AsyncConnectionPool

from actors.runtime.committer import GroupCommitter
from actors.runtime.entity import Entity, Fenced, Redecide, Wake, WriteContext
from domain.errors import DomainError, Unavailable

log = logging.getLogger(__name__)

Envelope = tuple[Any, asyncio.Future]


class VirtualActor:
    def __init__(
        self, entity: Entity, key: str, pool: AsyncConnectionPool, committer: GroupCommitter, ctx: WriteContext, *,
        idle_ttl_s: float, max_batch: int, on_passivate: Callable[[VirtualActor], None],
        on_fenced: Callable[[], None], on_state: Callable[[VirtualActor], None] = lambda actor: None,
    ):
        self.entity = entity
        self.key = key
        self._pool = pool
        self._committer = committer
        self._ctx = ctx
        self._idle_ttl_s = idle_ttl_s
        self._max_batch = max_batch
        self._on_passivate = on_passivate
        self._on_fenced = on_fenced
        self._on_state = on_state
        self._mailbox: deque[Envelope] = deque()
        self._in_flight = 0
        self._wakeup = asyncio.Event()
        self.state: Any = None
        self.batches = 0  # committed batches, and the messages they answered
        self.messages = 0
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"{entity.kind}:{key}")

    def tell(self, command: Any) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._mailbox.append((command, future))
        self._wakeup.set()
        return future

    @property
    def queue_length(self) -> int:
        """Callers waiting for an answer: queued, plus the batch being committed."""
        return len(self._mailbox) + self._in_flight

    @property
    def alive(self) -> bool:
        return not self._task.done()

    async def _run(self) -> None:
        try:
            while True:
                if not self._mailbox:
                    self._wakeup.clear()
                    try:
                        await asyncio.wait_for(self._wakeup.wait(), self._idle_ttl_s)
                    except TimeoutError:
                        # No await between this check and leaving the registry, so
                        # no message can slip in unseen.
                        if not self._mailbox:
                            self._on_passivate(self)
                            return
                        continue
                batch = [self._mailbox.popleft() for _ in range(min(len(self._mailbox), self._max_batch))]
                self._in_flight = len(batch)
                try:
                    await self._process(batch)
                finally:
                    self._in_flight = 0
        except asyncio.CancelledError:
            self._fail_all(Unavailable("The actor host is shutting down; retry."))
            raise

    async def _process(self, batch: list[Envelope]) -> None:
        try:
            if self.state is None:
                async with self._pool.connection() as conn:
                    self.state = await self.entity.load(conn, self.key)
                    await conn.rollback()
        except DomainError as exc:  # e.g. the entity does not exist: answer, stay empty
            self._answer(batch, [exc] * len(batch))
            return
        except Exception as exc:
            log.warning("activation of %s %s failed: %s", self.entity.kind, self.key, exc)
            self._answer(batch, [Unavailable("Storage is unavailable; retry.")] * len(batch))
            return

        answered: dict[int, Any] = {}  # settled by a Redecide: not decided again
        while True:
            working, outcomes = self._decide(batch, answered)
            before = self.state
            try:
                if self.entity.dirty(before, working):
                    await self._committer.commit(lambda conn: self.entity.persist(conn, before, working, self._ctx))
            except Redecide as exc:
                settled = {i: answer for i, (command, _) in enumerate(batch)
                           if i not in answered and (answer := exc.answer(command)) is not None}
                if settled:  # each round settles at least one command, so this ends
                    answered.update(settled)
                    continue
                self._failed(batch, exc)
                return
            except Fenced as exc:
                self.state = None
                self._answer(batch, [exc] * len(batch))
                self._on_fenced()
                return
            except Exception as exc:
                self._failed(batch, exc)
                return
            break
        self.state = self.entity.adopt(self.state, working)
        self.batches += 1
        self.messages += len(batch)
        self._answer(batch, outcomes)
        self._on_state(self)  # timers and effects follow the committed state

    def _decide(self, batch: list[Envelope], answered: dict[int, Any]) -> tuple[Any, list[Any]]:
        """Apply the batch's commands to a clone of the state, in order: the clone and each reply."""
        working = self.entity.clone(self.state)
        outcomes: list[Any] = []
        for i, (command, _) in enumerate(batch):
            if i in answered:
                outcomes.append(answered[i])
            elif isinstance(command, Wake):
                outcomes.append(None)
            else:
                try:
                    outcomes.append(self.entity.apply(working, command))
                except DomainError as exc:
                    outcomes.append(exc)
        return working, outcomes

    def _failed(self, batch: list[Envelope], exc: Exception) -> None:
        """Unknown outcome or a conflict: forget the state, let callers retry."""
        log.warning("batch commit for %s %s failed: %r", self.entity.kind, self.key, exc, exc_info=True)
        self.state = None
        error = exc if isinstance(exc, Unavailable) else Unavailable("Storage is unavailable; retry.")
        self._answer(batch, [error] * len(batch))

    @staticmethod
    def _answer(batch: list[Envelope], outcomes: list[Any]) -> None:
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    def _fail_all(self, error: Exception) -> None:
        while self._mailbox:
            _, future = self._mailbox.popleft()
            if not future.done():
                future.set_exception(error)

    async def stop(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
