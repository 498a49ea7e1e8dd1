"""SQL for notifications. Every function runs in the caller's transaction.

The dispatcher's protocol (README "Notifications and delivery"): a `pending`
row is due when `next_attempt_at <= now()`; claiming it pushes
`next_attempt_at` one lease ahead and counts the attempt, so a dispatcher that
dies mid-send leaves the row to be claimed again once the lease runs out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import dict_row

PUBLIC_COLUMNS = """id, event_id, event_type, channel, template, recipient, subject, body, status,
    skip_reason, attempts, created_at, sent_at"""


async def insert_many(conn: AsyncConnection, rows: Sequence[dict]) -> int:
    """Insert notifications; an existing (event_id, channel, user_id) is left alone.

    Returns how many were new."""
    inserted = 0
    async with conn.cursor() as cur:
        for row in rows:
            await cur.execute(
                """INSERT INTO notifications (id, user_id, event_id, event_type, channel, template, recipient,
                                             subject, body, status, skip_reason, next_attempt_at)
                   VALUES (%(id)s, %(user_id)s, %(event_id)s, %(event_type)s, %(channel)s, %(template)s,
                           %(recipient)s, %(subject)s, %(body)s, %(status)s, %(skip_reason)s,
                           CASE WHEN %(status)s = 'pending' THEN now() END)
                   ON CONFLICT (event_id, channel, user_id) DO NOTHING""",
                row,
            )
            inserted += cur.rowcount
    return inserted


async def skip_withdrawn(conn: AsyncConnection) -> int:
    """Due rows whose user has since opted out of the channel, or was erased: never send them."""
    cur = await conn.execute(
        """UPDATE notifications n
              SET status = 'skipped', next_attempt_at = NULL,
                  skip_reason = CASE WHEN u.deleted_at IS NOT NULL THEN 'account_erased' ELSE 'opted_out' END
             FROM users u
            WHERE n.user_id = u.id AND n.status = 'pending' AND n.next_attempt_at <= now()
              AND (u.deleted_at IS NOT NULL
                   OR (n.channel = 'email' AND NOT u.notify_email)
                   OR (n.channel = 'sms' AND NOT u.notify_sms))"""
    )
    return cur.rowcount


async def claim_due(conn: AsyncConnection, limit: int, lease_s: float) -> list[dict]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """UPDATE notifications
                  SET next_attempt_at = now() + make_interval(secs => %s), attempts = attempts + 1
                WHERE id IN (SELECT id FROM notifications
                              WHERE status = 'pending' AND next_attempt_at <= now()
                              ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED)
            RETURNING id, channel, recipient, subject, body, attempts""",
            (lease_s, limit),
        )
        return await cur.fetchall()


async def mark_sent(conn: AsyncConnection, notification_id: uuid.UUID, provider: str, provider_ref: str) -> None:
    await conn.execute(
        """UPDATE notifications SET status = 'sent', sent_at = now(), next_attempt_at = NULL, provider = %s,
                  provider_ref = %s, last_error = NULL
            WHERE id = %s AND status = 'pending'""",
        (provider, provider_ref[:500], notification_id),
    )


async def mark_retry(conn: AsyncConnection, notification_id: uuid.UUID, delay_s: float, error: str) -> None:
    await conn.execute(
        """UPDATE notifications SET next_attempt_at = now() + make_interval(secs => %s), last_error = %s
            WHERE id = %s AND status = 'pending'""",
        (delay_s, error[:2000], notification_id),
    )


async def mark_failed(conn: AsyncConnection, notification_id: uuid.UUID, error: str) -> None:
    await conn.execute(
        """UPDATE notifications SET status = 'failed', next_attempt_at = NULL, last_error = %s
            WHERE id = %s AND status = 'pending'""",
        (error[:2000], notification_id),
    )


async def page_for_user(
    conn: AsyncConnection, user_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[dict]:
    """The user's notifications, newest first, keyset-paged by (created_at, id)."""
    where, params = "user_id = %s", [user_id]
    if after is not None:
        where += " AND (created_at, id) < (%s, %s)"
        params += list(after)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""SELECT {PUBLIC_COLUMNS} FROM notifications WHERE {where}
                 ORDER BY created_at DESC, id DESC LIMIT %s""",
            (*params, limit),
        )
        return await cur.fetchall()


async def erase_user(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    """For account erasure: the stored messages hold the address, the name and the orders."""
    await conn.execute("DELETE FROM notifications WHERE user_id = %s", (user_id,))
