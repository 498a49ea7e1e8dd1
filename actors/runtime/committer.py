"""Shard-level group commit: the batches of many virtual actors in one transaction.

Each virtual actor already folds its own waiting messages into one batch.
Here the batches of different keys that are ready at the same moment share
a transaction too, so a flash sale's thousands of one-message order actors
pay for one commit (one WAL flush) per group, not one each.

If the shared transaction fails, every write in it is retried alone, in its
own transaction, so one bad write (a fenced or stale entity) fails only its
own callers. Writes must therefore be repeatable: they read the states they
are given and change nothing outside the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

Write = Callable[[AsyncConnection], Awaitable[None]]


class GroupCommitter:
    def __init__(self, pool: AsyncConnectionPool, *, max_parallel: int = 3, max_writes: int = 256):
        self._pool = pool
        self._max_parallel = max_parallel
        self._max_writes = max_writes
        self._pending: list[tuple[Write, asyncio.Future]] = []
        self._running = 0
        self.transactions = 0

    async def commit(self, write: Write) -> None:
        """Return once `write` is committed; raise what it raised if it failed."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((write, future))
        if self._running < self._max_parallel:
            self._running += 1
            asyncio.get_running_loop().create_task(self._drain())
        await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                group = self._pending[: self._max_writes]
                del self._pending[: self._max_writes]
                await self._commit_group(group)
        finally:
            self._running -= 1

    async def _commit_group(self, group: list[tuple[Write, asyncio.Future]]) -> None:
        try:
            await self._transaction([write for write, _ in group])
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0][1], exc)
                return
            for write, future in group:  # find the culprit: each alone
                try:
                    await self._transaction([write])
                    _settle(future, None)
                except Exception as alone:
                    _settle(future, alone)
            return
        for _, future in group:
            _settle(future, None)

    async def _transaction(self, writes: list[Write]) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            for write in writes:
                await write(conn)
        self.transactions += 1


def _settle(future: asyncio.Future, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
