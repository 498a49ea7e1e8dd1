"""The async psycopg connection pool every component shares within a process."""

from __future__ import annotations

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
