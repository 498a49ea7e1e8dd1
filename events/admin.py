"""Operations on the event log: listing, dead-letter retry, replay from the outbox."""

from __future__ import annotations

from datetime import datetime

from nats.aio.client import Client as NATS
from psycopg import AsyncConnection
from psycopg.rows import tuple_row

from events.envelope import STREAM_NAME, EventEnvelope, subject_for


async def list_events(
    conn: AsyncConnection, *, type_: str | None, aggregate_id: str | None, since: datetime | None,
    after_position: int | None, limit: int,
) -> list[dict]:
    where, params = [], []
    for clause, value in (("type = %s", type_), ("aggregate_id = %s", aggregate_id),
                          ("occurred_at >= %s", since), ("position > %s", after_position)):
        if value is not None:
            where.append(clause)
            params.append(value)
    sql = f"""SELECT position, id, type, aggregate_id, sequence, occurred_at, data, correlation_id, published_at
                FROM outbox {'WHERE ' + ' AND '.join(where) if where else ''}
               ORDER BY position LIMIT %s"""
    return await (await conn.execute(sql, [*params, limit])).fetchall()


async def list_dead_letters(conn: AsyncConnection, *, include_retried: bool, after_id: int | None, limit: int) -> list[dict]:
    where = ["TRUE"] if include_retried else ["retried_at IS NULL"]
    params: list = []
    if after_id is not None:
        where.append("id > %s")
        params.append(after_id)
    return await (await conn.execute(
        f"""SELECT id, consumer, event_id, event_type, subject, payload, error, deliveries, created_at,
                   retried_at, retries
              FROM dead_letters WHERE {' AND '.join(where)} ORDER BY id LIMIT %s""",
        [*params, limit],
    )).fetchall()


async def retry_dead_letter(conn: AsyncConnection, nc: NATS, dead_letter_id: int) -> dict | None:
    """Publish the event again for its consumer. Consumers that already applied
    it find their inbox row; the one that gave up applies it now, once."""
    row = await (await conn.execute(
        "SELECT * FROM dead_letters WHERE id = %s FOR UPDATE", (dead_letter_id,)
    )).fetchone()
    if row is None:
        return None
    event = EventEnvelope.model_validate(row["payload"])
    attempt = row["retries"] + 1
    await nc.jetstream().publish(
        subject_for(event.type), event.to_bytes(), headers={"Nats-Msg-Id": f"{event.id}:retry:{attempt}"}
    )
    updated = await (await conn.execute(
        "UPDATE dead_letters SET retried_at = now(), retries = %s WHERE id = %s RETURNING *", (attempt, dead_letter_id)
    )).fetchone()
    await conn.commit()
    return updated


async def mark_for_replay(conn: AsyncConnection, since: datetime) -> int:
    """Let the relay publish every event since `since` again (JetStream and the
    consumers' inboxes keep the effects exactly once)."""
    cur = await conn.execute(
        "UPDATE outbox SET published_at = NULL WHERE occurred_at >= %s AND published_at IS NOT NULL", (since,)
    )
    await conn.execute("NOTIFY commerce_outbox")
    await conn.commit()
    return cur.rowcount


async def event_backlog(conn: AsyncConnection, nc: NATS) -> int:
    """Events not yet fully handled: unpublished outbox rows, plus messages every durable
    consumer of the stream has still to receive or to acknowledge."""
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        (unpublished,) = await cur.fetchone()
    consumers = await nc.jetstream().consumers_info(STREAM_NAME)
    return unpublished + sum(info.num_pending + info.num_ack_pending for info in consumers)
