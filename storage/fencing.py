"""Telling a fenced-off writer from a stale one, after a guarded write matched no row."""

from psycopg import AsyncConnection
from psycopg.rows import tuple_row


async def fenced_or_stale(conn: AsyncConnection, shard_id: int, epoch: int) -> str:
    """"fenced" if a newer shard incarnation holds the epoch, else "stale"."""
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute("SELECT epoch FROM shard_epochs WHERE shard_id = %s", (shard_id,))
        row = await cur.fetchone()
    return "fenced" if row is None or row[0] != epoch else "stale"
