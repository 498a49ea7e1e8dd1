"""The outbox relay publishes each committed event exactly once, across a NATS restart."""

from __future__ import annotations

import asyncio
import time
import uuid

import psycopg
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from events.envelope import EventEnvelope, NewEvent
from events.outbox import append_events
from events.stream import connect


async def write_events(dsn: str, events: list[NewEvent], *, commit: bool = True) -> None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await append_events(conn, events)
        if commit:
            await conn.commit()
        else:
            await conn.rollback()


async def wait_published(dsn: str, ids: list[uuid.UUID], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = await (await conn.execute(
                "SELECT count(*) FROM outbox WHERE id = ANY(%s) AND published_at IS NOT NULL", (ids,)
            )).fetchone()
            if row[0] == len(ids):
                return
            await asyncio.sleep(0.2)
    raise AssertionError("events were not published in time")


async def stream_copies(nats_url: str, correlation_id: str) -> dict[str, int]:
    """Count, per event id, the messages in the stream that carry this test's correlation id."""
    nc = await connect(nats_url, name="test-reader")
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            "commerce.user.>", durable=None,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        counts: dict[str, int] = {}
        while True:
            try:
                msgs = await sub.fetch(500, timeout=1.5)
            except TimeoutError:
                break
            for msg in msgs:
                envelope = EventEnvelope.from_bytes(msg.data)
                if envelope.correlation_id == correlation_id:
                    counts[str(envelope.id)] = counts.get(str(envelope.id), 0) + 1
                    assert msg.headers["Nats-Msg-Id"] == str(envelope.id)
        await sub.unsubscribe()
        return counts
    finally:
        await nc.close()


def events_for(correlation_id: str, n: int) -> list[NewEvent]:
    aggregate = f"user-{uuid.uuid4().hex[:8]}"
    return [
        NewEvent(type="USER_UPDATED", aggregate_id=aggregate, data={"n": i}, correlation_id=correlation_id)
        for i in range(n)
    ]


async def test_committed_published_once_rolled_back_never(system):
    dsn, nats_url = system.settings.database_url, system.settings.nats_url
    correlation = uuid.uuid4().hex
    committed = events_for(correlation, 5)
    rolled_back = events_for(correlation, 3)
    await write_events(dsn, committed)
    await write_events(dsn, rolled_back, commit=False)
    await wait_published(dsn, [e.id for e in committed])
    counts = await stream_copies(nats_url, correlation)
    assert counts == {str(e.id): 1 for e in committed}


async def test_sequences_per_aggregate_are_contiguous(system):
    dsn = system.settings.database_url
    events = events_for(uuid.uuid4().hex, 4)
    await write_events(dsn, events[:2])
    await write_events(dsn, events[2:])
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        rows = await (await conn.execute(
            "SELECT sequence FROM outbox WHERE aggregate_id = %s ORDER BY sequence", (events[0].aggregate_id,)
        )).fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4]


async def test_exactly_once_across_nats_restart(system):
    if system.nats is None:
        pytest.skip("NATS_URL points at an external server this test cannot stop")
    dsn, nats_url = system.settings.database_url, system.settings.nats_url
    correlation = uuid.uuid4().hex
    before, during, after = events_for(correlation, 3), events_for(correlation, 4), events_for(correlation, 2)
    await write_events(dsn, before)
    await wait_published(dsn, [e.id for e in before])
    system.nats.stop()
    try:
        await write_events(dsn, during)  # committed while NATS is down: must not be lost
        await asyncio.sleep(1.5)  # let the relay fail and back off
    finally:
        system.nats.start()
    await write_events(dsn, after)
    everything = before + during + after
    await wait_published(dsn, [e.id for e in everything])
    counts = await stream_copies(nats_url, correlation)
    assert counts == {str(e.id): 1 for e in everything}
