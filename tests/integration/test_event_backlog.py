"""`event_backlog` counts what the event pipeline still owes; the benchmark waits on it between
rounds. A durable consumer's unhandled messages count until that consumer has them or is gone."""

from __future__ import annotations

import uuid

import psycopg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from events.admin import event_backlog
from events.envelope import STREAM_NAME, SUBJECT_PREFIX
from events.stream import connect
from tests.helpers import eventually


async def test_messages_a_consumer_has_not_handled_are_backlog(system):
    nc = await connect(system.settings.nats_url, name="test-event-backlog")
    js = nc.jetstream()
    subject = f"{SUBJECT_PREFIX}.test.backlog-{uuid.uuid4().hex[:8]}"  # no worker listens here
    idle = f"test-idle-{uuid.uuid4().hex[:8]}"
    try:
        await js.add_consumer(STREAM_NAME, ConsumerConfig(
            durable_name=idle, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.NEW,
            filter_subject=subject))
        for n in range(3):
            await js.publish(subject, b"{}", headers={"Nats-Msg-Id": f"{idle}-{n}"})
        async with await psycopg.AsyncConnection.connect(system.settings.database_url, autocommit=True) as conn:
            assert await event_backlog(conn, nc) >= 3  # the idle consumer's three, whatever else is in flight
            await js.delete_consumer(STREAM_NAME, idle)
            idle = None

            async def below_three() -> bool:
                return await event_backlog(conn, nc) < 3

            await eventually(below_three, timeout_s=60)
    finally:
        if idle:
            await js.delete_consumer(STREAM_NAME, idle)
        await nc.close()
