"""SQL for login-failure counters: one row per (scope, hashed key), fixed windows."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import tuple_row


async def failures_in_window(
    conn: AsyncConnection, keys: list[tuple[str, bytes]], window_s: float
) -> list[tuple[str, int, float]]:
    """(scope, failures, seconds until the window ends) for each key whose window is open."""
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(
            """SELECT scope, failures,
                      EXTRACT(EPOCH FROM window_started + make_interval(secs => %(w)s) - now())::float8
               FROM login_failures
               WHERE (scope, key_hash) IN (SELECT * FROM unnest(%(scopes)s::text[], %(hashes)s::bytea[]))
                 AND window_started > now() - make_interval(secs => %(w)s)""",
            {"w": window_s, "scopes": [s for s, _ in keys], "hashes": [h for _, h in keys]},
        )
        return [tuple(row) for row in await cur.fetchall()]


async def add_failure(conn: AsyncConnection, scope: str, key_hash: bytes, window_s: float) -> int:
    """Count one failure; a window that has ended starts over. Returns the count in the window."""
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(
            """INSERT INTO login_failures AS f (scope, key_hash, failures, window_started)
               VALUES (%(scope)s, %(key)s, 1, now())
               ON CONFLICT (scope, key_hash) DO UPDATE SET
                   failures = CASE WHEN f.window_started <= now() - make_interval(secs => %(w)s)
                                   THEN 1 ELSE f.failures + 1 END,
                   window_started = CASE WHEN f.window_started <= now() - make_interval(secs => %(w)s)
                                         THEN now() ELSE f.window_started END
               RETURNING failures""",
            {"scope": scope, "key": key_hash, "w": window_s},
        )
        return (await cur.fetchone())[0]


async def clear(conn: AsyncConnection, scope: str, key_hash: bytes) -> None:
    await conn.execute("DELETE FROM login_failures WHERE scope = %s AND key_hash = %s", (scope, key_hash))


async def purge_expired(conn: AsyncConnection, window_s: float) -> int:
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(
            "DELETE FROM login_failures WHERE window_started <= now() - make_interval(secs => %s)", (window_s,)
        )
        return cur.rowcount
