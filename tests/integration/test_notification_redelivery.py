"""Exactly one notification and one mail for an event delivered twice; the sweeper's work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg

from events.envelope import STREAM_NAME, EventEnvelope, subject_for
from events.stream import connect
from tests.e2e.test_delivery_flow_http import mails_to
from tests.factories import make_user
from tests.helpers import eventually


async def new_user(system, **columns) -> uuid.UUID:
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        user_id = await make_user(conn, "shopper")
        for column, value in columns.items():
            await conn.execute(f"UPDATE users SET {column} = %s WHERE id = %s", (value, user_id))
        await conn.commit()
    return user_id


async def rows(system, sql: str, *params) -> list[tuple]:
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        return await (await conn.execute(sql, params)).fetchall()


async def test_a_redelivered_event_makes_one_notification_and_one_mail(system, smtp_server):
    user_id = await new_user(system)
    email = f"{user_id.hex}@example.test"
    event = EventEnvelope(id=uuid.uuid4(), type="USER_REGISTERED", aggregate_id=str(user_id), sequence=1,
                          occurred_at=datetime.now(UTC), data={"user_id": str(user_id)})
    nc = await connect(system.settings.nats_url, name="test-notification-redelivery")
    try:
        js = nc.jetstream()
        acks = [await js.publish(subject_for(event.type), event.to_bytes(), headers={"Nats-Msg-Id": f"{event.id}-{n}"})
                for n in range(2)]  # distinct message ids: the stream keeps both copies

        async def both_handled() -> bool:
            info = await js.consumer_info(STREAM_NAME, "notifications")
            return info.ack_floor.stream_seq >= acks[-1].seq

        await eventually(both_handled, timeout_s=60)
    finally:
        await nc.close()
    await eventually(lambda: rows(system, "SELECT 1 FROM notifications WHERE event_id = %s AND status = 'sent'",
                                  event.id))
    assert await rows(system, "SELECT channel, template FROM notifications WHERE event_id = %s", event.id) == [
        ("email", "welcome")]
    assert len(mails_to(smtp_server, email)) == 1


async def insert_pending(system, user_id: uuid.UUID, *, attempts: int) -> uuid.UUID:
    """A row as a dispatcher leaves it when it dies mid-send: pending, attempted, its lease run out."""
    notification_id = uuid.uuid4()
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        await conn.execute(
            """INSERT INTO notifications (id, user_id, event_id, event_type, channel, template, recipient, subject,
                                          body, status, attempts, next_attempt_at)
               VALUES (%s, %s, %s, 'USER_REGISTERED', 'email', 'welcome', %s, 'Swept', 'Hello', 'pending', %s, now())""",
            (notification_id, user_id, uuid.uuid4(), f"{user_id.hex}@example.test", attempts),
        )
        await conn.commit()
    return notification_id


async def test_the_sweeper_sends_a_pending_row_whose_lease_ran_out(system, smtp_server):
    user_id = await new_user(system)
    notification_id = await insert_pending(system, user_id, attempts=1)
    await eventually(lambda: mails_to(smtp_server, f"{user_id.hex}@example.test"), timeout_s=20)
    [(status, attempts, message_id)] = await rows(
        system, "SELECT status, attempts, provider_ref FROM notifications WHERE id = %s", notification_id)
    assert (status, attempts) == ("sent", 2)
    (mail,) = mails_to(smtp_server, f"{user_id.hex}@example.test")
    assert mail["Message-ID"] == message_id and str(notification_id) in message_id


async def test_a_pending_row_of_a_user_who_opted_out_since_is_skipped(system, smtp_server):
    user_id = await new_user(system, notify_email=False)
    notification_id = await insert_pending(system, user_id, attempts=0)

    async def skipped():
        return await rows(system, "SELECT skip_reason FROM notifications WHERE id = %s AND status = 'skipped'",
                          notification_id)

    assert await eventually(skipped, timeout_s=20) == [("opted_out",)]
    assert mails_to(smtp_server, f"{user_id.hex}@example.test") == []
