"""Telling a fenced-off writer from a stale one, after a guarded write matched no row."""

from psycopg import AsyncConnection


async def fenced_or_stale(conn: AsyncConnection, shard_id: int, epoch: int) -> str:
    """"fenced" if a newer shard incarnation holds the epoch, else "stale"."""
    row = await (await conn.execute("SELECT epoch FROM shard_epochs WHERE shard_id = %s", (shard_id,))).fetchone()
    current = None if row is None else (row["epoch"] if isinstance(row, dict) else row[0])
    return "fenced" if current != epoch else "stale"
