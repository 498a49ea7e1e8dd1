"""The async psycopg connection pool every component shares within a process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool


async def _configure(conn: AsyncConnection) -> None:
    # Short statement timeout: a hung query must surface as an error, not a stuck actor.
    await conn.execute("SET statement_timeout = '30s'")
    await conn.commit()


async def open_pool(dsn: str, *, max_size: int = 10, min_size: int = 1, name: str = "commerce") -> AsyncConnectionPool:
    """Open a pool whose connections return rows as dicts."""
    pool = AsyncConnectionPool(
        dsn,
        min_size=min(min_size, max_size),
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": False},
        configure=_configure,
        name=name,
        open=False,
        timeout=10,
    )
    await pool.open(wait=True, timeout=30)
    return pool


@asynccontextmanager
async def reading(pool: AsyncConnectionPool) -> AsyncIterator[AsyncConnection]:
    """A pooled connection in autocommit, for reads: each statement is one round trip,
    without the BEGIN before it and the ROLLBACK when the pool takes it back."""
    async with pool.connection() as conn:
        await conn.set_autocommit(True)
        try:
            yield conn
        finally:
            if not conn.closed:
                await conn.set_autocommit(False)
