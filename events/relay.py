"""The outbox relay: committed events -> JetStream stream COMMERCE.

Each round claims the oldest unpublished rows (FOR UPDATE SKIP LOCKED, so two
relays never publish the same row at once), publishes them with
`Nats-Msg-Id` = event id, and marks them published in the same transaction.
If NATS is down, the transaction rolls back and the round is retried with
backoff: nothing is lost. If the marking fails after a publish, the next round
publishes again and JetStream's duplicate window drops the copy.
A NOTIFY from `append_events` wakes the relay as soon as events commit.
"""

from __future__ import annotations

import asyncio
import logging
import random

import psycopg
from nats.aio.client import Client as NATS
from psycopg_pool import AsyncConnectionPool

from events.envelope import EventEnvelope
from events.outbox import NOTIFY_CHANNEL
from events.stream import ensure_stream

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0
MAX_BACKOFF_S = 5.0


def envelope_from_row(row: dict) -> EventEnvelope:
    return EventEnvelope(
        id=row["id"], type=row["type"], aggregate_id=row["aggregate_id"], sequence=row["sequence"],
        occurred_at=row["occurred_at"], data=row["data"], correlation_id=row["correlation_id"],
    )


class OutboxRelay:
    def __init__(self, pool: AsyncConnectionPool, nc: NATS, dsn: str, *, batch_size: int = 500):
        self._pool = pool
        self._nc = nc
        self._js = nc.jetstream()
        self._dsn = dsn
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self.published_total = 0

    async def publish_batch(self) -> int:
        """Publish one batch of unpublished events; return how many."""
        async with self._pool.connection() as conn, conn.transaction():
            rows = await (await conn.execute(
                """SELECT position, id, type, aggregate_id, sequence, occurred_at, data, correlation_id
                   FROM outbox WHERE published_at IS NULL
                   ORDER BY position LIMIT %s FOR UPDATE SKIP LOCKED""",
                (self._batch_size,),
            )).fetchall()
            if not rows:
                return 0
            envelopes = [envelope_from_row(row) for row in rows]
            # Tasks start in order, so messages reach the server in outbox order.
            await asyncio.gather(*(
                self._js.publish(e.subject, e.to_bytes(), timeout=5, headers={"Nats-Msg-Id": str(e.id)})
                for e in envelopes
            ))
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE position = ANY(%s)",
                ([row["position"] for row in rows],),
            )
        self.published_total += len(rows)
        return len(rows)

    async def _listen(self, stop: asyncio.Event) -> None:
        """Turn NOTIFYs into wake-ups; reconnect quietly if the database goes away."""
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not stop.is_set():
                        async for _ in conn.notifies(timeout=IDLE_POLL_S, stop_after=1):
                            self._wake.set()
            except Exception as exc:
                log.warning("outbox listener lost its connection: %s", exc)
                await asyncio.sleep(1.0)

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(stop))
        backoff = 0.1
        stream_ready = False
        try:
            while not stop.is_set():
                try:
                    if not stream_ready:
                        await ensure_stream(self._nc)
                        stream_ready = True
                    published = await self.publish_batch()
                    backoff = 0.1
                    if published == self._batch_size:
                        continue  # more is waiting
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)
                    except TimeoutError:
                        pass
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # NATS or PostgreSQL down: back off, then catch up
                    log.warning("outbox relay round failed (%s); retrying in %.2fs", exc, backoff)
                    await asyncio.sleep(backoff * (0.5 + random.random()))
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            listener.cancel()
