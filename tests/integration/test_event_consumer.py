"""Durable consumers: exactly-once effects, dead letters after max_deliver, retry."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from events.consumer import ConsumerPolicy, JetStreamWorker
from events.envelope import EventEnvelope, NewEvent, subject_for
from events.stream import connect
from storage.pool import open_pool
from tests.helpers import eventually, users_with_tokens


class RecordingHandler:
    """Records this test's events in a table; fails while `broken` is set."""

    subjects = ("commerce.user.user_updated",)

    def __init__(self, consumer: str, correlation: str):
        self.consumer = consumer
        self.correlation = correlation
        self.broken = False

    async def handle(self, event: EventEnvelope, tx) -> None:
        if event.correlation_id != self.correlation:
            return
        if self.broken:
            raise RuntimeError("the downstream is broken")
        await tx.execute("INSERT INTO test_consumer_effects (consumer, event_id) VALUES (%s, %s)",
                         (self.consumer, event.id))


@pytest.fixture
async def worker_setup(system):
    dsn = system.settings.database_url
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS test_consumer_effects (consumer text, event_id uuid)")
    pool = await open_pool(dsn, max_size=2)
    nc = await connect(system.settings.nats_url, name="test-consumer")
    handler = RecordingHandler(f"test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex)
    worker = JetStreamWorker(pool, nc, handler, ConsumerPolicy(max_deliver=2, backoff_s=(0.2,), batch=8))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    yield worker, handler, nc
    stop.set()
    await asyncio.wait_for(task, 10)
    await nc.jetstream().delete_consumer("COMMERCE", handler.consumer)
    await nc.close()
    await pool.close()


async def effects(dsn: str, consumer: str) -> list[str]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        rows = await (await conn.execute(
            "SELECT event_id FROM test_consumer_effects WHERE consumer = %s", (consumer,)
        )).fetchall()
    return [str(r[0]) for r in rows]


def envelope(correlation: str) -> EventEnvelope:
    event = NewEvent(type="USER_UPDATED", aggregate_id=uuid.uuid4().hex, correlation_id=correlation)
    return EventEnvelope(id=event.id, type=event.type, aggregate_id=event.aggregate_id, sequence=1,
                         occurred_at=event.occurred_at, data={}, correlation_id=correlation)


async def test_a_redelivered_event_is_applied_once(system, worker_setup):
    worker, handler, nc = worker_setup
    event = envelope(handler.correlation)
    js = nc.jetstream()
    for copy in range(3):  # three deliveries of one event (distinct message ids defeat stream dedupe)
        await js.publish(subject_for(event.type), event.to_bytes(), headers={"Nats-Msg-Id": f"{event.id}-{copy}"})
    await eventually(lambda: worker.processed >= 3)
    assert await effects(system.settings.database_url, handler.consumer) == [str(event.id)]


async def test_poison_goes_to_dead_letters_and_a_retry_applies_it_once(system, http, worker_setup):
    worker, handler, nc = worker_setup
    handler.broken = True
    event = envelope(handler.correlation)
    await nc.jetstream().publish(subject_for(event.type), event.to_bytes(), headers={"Nats-Msg-Id": str(event.id)})
    (_, admin), = await users_with_tokens(system, "admin", 1)

    def listed():
        items = http.get("/api/admin/dead-letters?limit=100", headers=admin).json()["items"]
        return next((i for i in items if i["event_id"] == str(event.id) and i["consumer"] == handler.consumer), None)

    letter = await eventually(listed, timeout_s=30)
    assert letter["deliveries"] == 2 and "broken" in letter["error"]
    assert await effects(system.settings.database_url, handler.consumer) == []

    handler.broken = False  # the cause is fixed
    retried = http.post(f"/api/admin/dead-letters/{letter['id']}/retry", headers=admin)
    assert retried.status_code == 202
    await eventually(lambda: _applied(system, handler))
    assert await effects(system.settings.database_url, handler.consumer) == [str(event.id)]
    assert listed() is None  # no longer an open dead letter


async def _applied(system, handler) -> bool:
    return bool(await effects(system.settings.database_url, handler.consumer))


def test_admin_event_log_needs_an_admin(http):
    assert http.get("/api/admin/events").status_code == 401
