"""SQL for refresh-token families and their tokens (only SHA-256 digests are stored)."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection
from psycopg.rows import dict_row, tuple_row


async def new_family(conn: AsyncConnection, family_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await conn.execute("INSERT INTO refresh_families (id, user_id) VALUES (%s, %s)", (family_id, user_id))


async def add_token(
    conn: AsyncConnection, digest: bytes, family_id: uuid.UUID, user_id: uuid.UUID, ttl_s: int
) -> None:
    await conn.execute(
        """INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)
           VALUES (%s, %s, %s, now() + make_interval(secs => %s))""",
        (digest, family_id, user_id, ttl_s),
    )


async def lock_token(conn: AsyncConnection, digest: bytes) -> dict | None:
    """The token, its family and its user, with the token row locked.

    The lock serializes two uses of the same token: the second one sees it
    spent, which is exactly the reuse the caller must treat as theft."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT t.family_id, t.user_id, t.spent_at IS NOT NULL AS spent,
                      t.expires_at <= now() AS expired, f.revoked_at IS NOT NULL AS family_revoked,
                      u.deleted_at IS NOT NULL AS user_deleted
               FROM refresh_tokens t
               JOIN refresh_families f ON f.id = t.family_id
               JOIN users u ON u.id = t.user_id
               WHERE t.token_hash = %s
               FOR UPDATE OF t""",
            (digest,),
        )
        return await cur.fetchone()


async def spend(conn: AsyncConnection, digest: bytes) -> None:
    await conn.execute("UPDATE refresh_tokens SET spent_at = now() WHERE token_hash = %s", (digest,))


async def revoke_family(conn: AsyncConnection, family_id: uuid.UUID, reason: str) -> None:
    await conn.execute(
        """UPDATE refresh_families SET revoked_at = now(), revoked_reason = %s
           WHERE id = %s AND revoked_at IS NULL""",
        (reason, family_id),
    )


async def revoke_user_families(conn: AsyncConnection, user_id: uuid.UUID, reason: str) -> int:
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(
            """UPDATE refresh_families SET revoked_at = now(), revoked_reason = %s
               WHERE user_id = %s AND revoked_at IS NULL""",
            (reason, user_id),
        )
        return cur.rowcount
