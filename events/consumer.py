"""Durable JetStream pull consumers with exactly-once effects.

For each message: open a transaction, insert the inbox row (consumer, event
id); if it was already there the event was applied before, so only ack.
Otherwise run the handler's effect in the same transaction, commit, then ack.
A failure naks with backoff; on the last allowed delivery (or at once for a
`PoisonEvent`) the event goes to the `dead_letters` table and the subject
`commerce.dlq.<consumer>`, and the message is terminated.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from uuid import NAMESPACE_URL, uuid5
from typing import Protocol

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from events.envelope import STREAM_NAME, SUBJECT_PREFIX, EventEnvelope

log = logging.getLogger(__name__)

DEFAULT_MAX_DELIVER = 5
DEFAULT_BACKOFF_S = (1.0, 2.0, 5.0, 10.0)


class PoisonEvent(Exception):
    """The event can never be handled as it is: dead-letter it now."""


class Handler(Protocol):
    consumer: str  # the durable consumer's name
    subjects: tuple[str, ...]

    async def handle(self, event: EventEnvelope, tx: AsyncConnection) -> None:
        """Apply the event's effect inside `tx` (which also holds the inbox row)."""


@dataclass(frozen=True)
class ConsumerPolicy:
    max_deliver: int = DEFAULT_MAX_DELIVER
    backoff_s: tuple[float, ...] = DEFAULT_BACKOFF_S
    batch: int = 32
    ack_wait_s: float = 30.0


def dead_letter_subject(consumer: str) -> str:
    return f"{SUBJECT_PREFIX}.dlq.{consumer}"


class JetStreamWorker:
    def __init__(self, pool: AsyncConnectionPool, nc: NATS, handler: Handler, policy: ConsumerPolicy = ConsumerPolicy()):
        self._pool = pool
        self._nc = nc
        self._js = nc.jetstream()
        self.handler = handler
        self.policy = policy
        self.processed = 0

    def consumer_config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.handler.consumer,
            filter_subjects=list(self.handler.subjects),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=self.policy.max_deliver,
            ack_wait=self.policy.ack_wait_s,
        )

    async def subscribe(self):
        return await self._js.pull_subscribe_bind(
            durable=self.handler.consumer, stream=STREAM_NAME
        ) if await self._exists() else await self._create()

    async def _exists(self) -> bool:
        try:
            await self._js.consumer_info(STREAM_NAME, self.handler.consumer)
            return True
        except Exception:
            return False

    async def _create(self):
        await self._js.add_consumer(STREAM_NAME, self.consumer_config())
        return await self._js.pull_subscribe_bind(durable=self.handler.consumer, stream=STREAM_NAME)

    async def run(self, stop: asyncio.Event) -> None:
        subscription = None
        while not stop.is_set():
            try:
                if subscription is None:
                    subscription = await self.subscribe()
                try:
                    messages = await subscription.fetch(self.policy.batch, timeout=1.0)
                except TimeoutError:
                    continue
                for message in messages:
                    await self.process(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away, consumer gone: back off and resubscribe
                log.warning("consumer %s: %r; retrying", self.handler.consumer, exc)
                subscription = None
                await asyncio.sleep(1.0)

    async def process(self, message: Msg) -> None:
        try:
            event = EventEnvelope.from_bytes(message.data)
        except Exception as exc:
            await self._dead_letter(message, None, f"undecodable event: {exc}")
            return
        try:
            async with self._pool.connection() as conn, conn.transaction():
                first_time = await (await conn.execute(
                    "INSERT INTO inbox (consumer, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                    (self.handler.consumer, event.id),
                )).fetchone()
                if first_time:
                    await self.handler.handle(event, conn)
            await message.ack()
            self.processed += 1
        except PoisonEvent as exc:
            await self._dead_letter(message, event, f"poison: {exc}")
        except Exception as exc:
            deliveries = message.metadata.num_delivered
            if deliveries >= self.policy.max_deliver:
                await self._dead_letter(message, event, repr(exc))
            else:
                delay = self.policy.backoff_s[min(deliveries - 1, len(self.policy.backoff_s) - 1)]
                log.info("consumer %s: event %s failed (%r); redelivery %d in %.1fs",
                         self.handler.consumer, event.id, exc, deliveries + 1, delay)
                await message.nak(delay=delay)

    async def _dead_letter(self, message: Msg, event: EventEnvelope | None, error: str) -> None:
        if event is not None:
            event_id, event_type, payload = event.id, event.type, event.model_dump(mode="json")
        else:  # undecodable: key it by its stream position
            event_id = uuid5(NAMESPACE_URL, f"{STREAM_NAME}/{message.metadata.sequence.stream}")
            event_type, payload = "UNDECODABLE", {"raw": message.data.decode(errors="replace")}
        async with self._pool.connection() as conn:
            await conn.execute(
                """INSERT INTO dead_letters (consumer, event_id, event_type, subject, payload, error, deliveries)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (consumer, event_id) DO UPDATE
                      SET error = EXCLUDED.error, deliveries = EXCLUDED.deliveries,
                          created_at = now(), retried_at = NULL""",
                (self.handler.consumer, event_id, event_type, message.subject, Jsonb(payload), error[:2000],
                 message.metadata.num_delivered),
            )
            await conn.commit()
        await self._js.publish(dead_letter_subject(self.handler.consumer), message.data,
                               headers={"Commerce-Error": error[:200]})
        await message.term()
        log.warning("consumer %s: event %s dead-lettered: %s", self.handler.consumer, event_id, error)
