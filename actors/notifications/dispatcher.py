"""Sends stored notifications after commit, and retries what is still pending.

One loop does both: every `POLL_S` it claims whatever is due, be it new
rows, retries that fell due, or rows whose lease ran out (a dispatcher died
mid-send). Polling an index of pending rows is cheap, and half a second is
soon enough for mail.

Guarantee: a row is sent until a provider accepts it (at least once); the
row exists once per (event, channel, user), so a redelivered event never
sends again. A crash between the provider's acceptance and `mark_sent`
sends that one message again after the lease.
"""

from __future__ import annotations

import asyncio
import logging

from psycopg_pool import AsyncConnectionPool

from actors.notifications.plan import RetryPolicy
from serve_app.notifications.transport import DeliveryFailed, Outgoing, Sender
from storage import notifications as sql

log = logging.getLogger(__name__)

POLL_S = 0.5
# Longer than a send can take (SMTP timeout 15 s per step), so a live send's row is never claimed twice.
LEASE_S = 120.0
BATCH = 16


class Dispatcher:
    def __init__(self, pool: AsyncConnectionPool, senders: dict[str, Sender], *,
                 policy: RetryPolicy = RetryPolicy(), batch: int = BATCH, lease_s: float = LEASE_S):
        self._pool = pool
        self._senders = senders
        self._policy = policy
        self._batch = batch
        self._lease_s = lease_s
        self.sent = 0

    async def dispatch_due(self) -> int:
        """Claim one batch of due rows and send them; return how many were claimed."""
        async with self._pool.connection() as conn, conn.transaction():
            await sql.skip_withdrawn(conn)
            claimed = await sql.claim_due(conn, self._batch, self._lease_s)
        await asyncio.gather(*(self._send(row) for row in claimed))
        return len(claimed)

    async def _send(self, row: dict) -> None:
        sender = self._senders[row["channel"]]
        message = Outgoing(id=str(row["id"]), recipient=row["recipient"], subject=row["subject"], body=row["body"])
        try:
            reference = await sender.send(message)
        except DeliveryFailed as exc:
            await self._failed(row, str(exc), permanent=exc.permanent)
            return
        except Exception as exc:  # a sender bug must not kill the loop; retry like a transient failure
            await self._failed(row, repr(exc), permanent=False)
            return
        async with self._pool.connection() as conn, conn.transaction():
            await sql.mark_sent(conn, row["id"], sender.provider, reference)
        self.sent += 1

    async def _failed(self, row: dict, error: str, *, permanent: bool) -> None:
        delay = None if permanent else self._policy.delay_after(row["attempts"])
        async with self._pool.connection() as conn, conn.transaction():
            if delay is None:
                await sql.mark_failed(conn, row["id"], error)
            else:
                await sql.mark_retry(conn, row["id"], delay, error)
        log.warning("notification %s (%s): attempt %d failed: %s; %s", row["id"], row["channel"], row["attempts"],
                    error, "giving up" if delay is None else f"retrying in {delay:.0f}s")

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    if await self.dispatch_due() == self._batch:
                        continue  # more may be due
                except Exception as exc:  # PostgreSQL away: the rows wait; try again shortly
                    log.warning("notification dispatch failed: %r", exc)
                try:
                    await asyncio.wait_for(stop.wait(), POLL_S)
                except TimeoutError:
                    pass
        finally:
            for sender in self._senders.values():
                await sender.close()
