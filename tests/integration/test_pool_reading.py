"""`storage.pool.reading`: reads without a transaction around them, and the connection handed
back to the pool as every other user expects it (transactions on)."""

from __future__ import annotations

from psycopg.pq import TransactionStatus

from storage.pool import open_pool, reading


async def test_a_read_opens_no_transaction_and_the_pool_gets_its_connection_back_unchanged(system):
    pool = await open_pool(system.settings.database_url, max_size=1, name="test-reading")
    try:
        async with reading(pool) as conn:
            await conn.execute("SELECT 1")
            assert conn.info.transaction_status == TransactionStatus.IDLE  # no BEGIN was sent
        async with pool.connection() as again:  # the pool's only connection
            assert again is conn and again.autocommit is False
            await again.execute("SELECT 1")
            assert again.info.transaction_status == TransactionStatus.INTRANS
    finally:
        await pool.close()
