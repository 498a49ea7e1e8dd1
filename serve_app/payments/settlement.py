"""Moving money: charging a payment, recording outcomes, running refunds.

Shared by the `payments` worker (actors/payments/worker.py), the webhook and
the admin refund. The rules are in actors/payments/state.py; this module
orders the I/O so that nothing is charged or refunded twice:

- A gateway call for a payment (or its refunds) runs under a session
  advisory lock (`_work`), so two deliveries of one event never call the
  gateway at once; a second one is told to retry later.
- Before the first gateway call the attempt is committed
  (`charge_started_at`, then the intent id as soon as it is known); a
  redelivered PAYMENT_ADDED resumes that intent instead of creating another.
- A refund is committed `pending` (holding its amount) before the gateway
  is called; a resumed refund is first looked up at the provider.
- Outcomes are written with their events (PAYMENT_SUCCESS / _FAILURE /
  _REFUNDED) in one transaction, under the order's lock, and only from
  `processing` (or `pending`), so the worker and the webhook converge.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from actors.payments.state import Payment, PaymentStatus, charge_refusal, refund_due
from events.envelope import NewEvent
from events.outbox import append_events
from serve_app.payments.gateway import (
    ChargeOutcome, ChargeRequest, GatewayTransient, PaymentGateway, PaymentRefused, RefundRequest,
)
from storage import payments as sql

log = logging.getLogger(__name__)


class PaymentMissing(LookupError):
    """An event names a payment that does not exist."""


def payment_of(row: dict) -> Payment:
    return Payment(id=str(row["id"]), order_id=str(row["order_id"]), status=PaymentStatus(row["status"]),
                   amount=row["amount"], currency=row["currency"].strip(), refunded=row["refunded_amount"],
                   refunding=int(row["refunding"]))


def charge_request(row: dict) -> ChargeRequest:
    return ChargeRequest(payment_id=str(row["id"]), order_id=str(row["order_id"]), amount=row["amount"],
                         currency=row["currency"].strip(), payment_method=row["payment_method"])


class Settlement:
    def __init__(self, pool: AsyncConnectionPool, gateway: PaymentGateway):
        self.pool = pool
        self.gateway = gateway

    @asynccontextmanager
    async def _work(self, key: str):
        """A connection holding the session lock for `key`, or GatewayTransient if another holds it."""
        async with self.pool.connection() as conn:
            locked = await sql.try_lock_work(conn, key)
            await conn.commit()
            if not locked:
                raise GatewayTransient(f"{key} is being worked on elsewhere")
            try:
                yield conn
            finally:
                await conn.rollback()
                await sql.unlock_work(conn, key)
                await conn.commit()

    # -- charging (PAYMENT_ADDED) --------------------------------------------------

    async def charge(self, tx: AsyncConnection, payment_id: str) -> None:
        """Charge the payment once; the outcome commits with the caller's transaction `tx`."""
        if not self._mine_and_open(await sql.get_payment(tx, payment_id), payment_id):
            return  # checked before locking, so a worker of another provider never holds the lock
        async with self._work(f"charge:{payment_id}") as conn:
            row = await sql.get_payment(conn, payment_id)
            if not self._mine_and_open(row, payment_id):
                return
            refusal = None
            if row["charge_started_at"] is None:  # a started charge is always resumed, never refused
                await sql.lock_order(conn, row["order_id"])
                order = await sql.order_for_payment(conn, row["order_id"])
                refusal = charge_refusal(order["status"], order["expires_at"], datetime.now(UTC))
            if refusal is None:
                await sql.start_charge(conn, payment_id)
            await conn.commit()
            if refusal is not None:  # the order moved on before we charged: fail without charging
                await self.record_outcome(tx, payment_id, ChargeOutcome("failed", None, refusal))
                return
            outcome = await self._run_charge(conn, row)
        if outcome.status != "pending":  # pending: the provider reports later, by webhook
            await self.record_outcome(tx, payment_id, outcome)

    def _mine_and_open(self, row: dict | None, payment_id: str) -> bool:
        """False for another provider's payment or one already settled (e.g. by the webhook)."""
        if row is None:
            raise PaymentMissing(payment_id)
        return row["provider"] == self.gateway.provider and row["status"] == PaymentStatus.PROCESSING

    async def _run_charge(self, conn: AsyncConnection, row: dict) -> ChargeOutcome:
        request, intent_id = charge_request(row), row["provider_ref"]
        try:
            if intent_id is None and row["charge_started_at"] is not None:
                intent_id = await self.gateway.find_charge(request)  # created, then crashed before recording it
            if intent_id is None:
                intent_id = await self.gateway.create_charge(request)
            if intent_id != row["provider_ref"]:
                await sql.set_provider_ref(conn, request.payment_id, intent_id)
                await conn.commit()
            return await self.gateway.confirm_charge(intent_id, request)
        except PaymentRefused as refused:
            return ChargeOutcome("failed", intent_id, refused.reason)

    async def record_outcome(self, conn: AsyncConnection, payment_id: str, outcome: ChargeOutcome) -> bool:
        """processing -> succeeded/failed with its event, in `conn`'s transaction; False if already settled."""
        row = await sql.get_payment(conn, payment_id)
        await sql.lock_order(conn, row["order_id"])
        row = await sql.get_payment(conn, payment_id, for_update=True)
        if row["status"] != PaymentStatus.PROCESSING:
            recorded_success = row["status"] != PaymentStatus.FAILED
            if recorded_success != (outcome.status == "succeeded"):  # should never happen: needs a person
                log.error("payment %s is %s but the provider now reports %s (intent %s)",
                          payment_id, row["status"], outcome.status, outcome.intent_id)
            return False
        payment = payment_of(row)
        after, (event_type, data) = payment.succeed() if outcome.status == "succeeded" else payment.fail(outcome.reason)
        await sql.settle_payment(conn, payment_id, after.status, data["reason"], outcome.intent_id)
        await append_events(conn, [NewEvent(type=event_type, aggregate_id=payment_id, data=data)])
        return True

    # -- refunds -------------------------------------------------------------------

    async def refund_if_order_closed(self, tx: AsyncConnection, order_id: str) -> None:
        """An order that keeps no money (cancelled, expired, ...): refund what its payments captured.

        Handles ORDER_CANCELLED (a paid order cancelled: `refund: true`),
        ORDER_EXPIRED and PAYMENT_SUCCESS (a payment that succeeded after its
        order stopped waiting for it). Idempotent: only what is left is refunded.
        """
        async with self.pool.connection() as conn:
            await sql.lock_order(conn, order_id)
            order = await sql.order_for_payment(conn, order_id)
            if order is None or not refund_due(order["status"]):
                return
            reason = f"order {order['status'].lower()}"
            to_settle = []
            for row in await sql.payments_for_order(conn, order_id):
                payment = payment_of(row)
                if row["provider"] != self.gateway.provider:
                    continue
                if payment.refundable > 0:
                    await sql.insert_refund(conn, {"id": uuid.uuid4(), "payment_id": payment.id,
                                                   "amount": payment.refundable, "reason": reason,
                                                   "requested_by": None})
                if payment.refundable > 0 or payment.refunding > 0:
                    to_settle.append(payment.id)
            await conn.commit()
        for payment_id in to_settle:
            await self.settle_refunds(payment_id, tx)

    async def settle_refunds(self, payment_id: str, tx: AsyncConnection | None = None) -> None:
        """Run every pending refund of the payment through the gateway and complete it.

        Completions commit with `tx` when given (the worker's inbox
        transaction), else at once."""
        async with self._work(f"refund:{payment_id}") as conn:
            row = await sql.get_payment(conn, payment_id)
            done = []
            for refund in await sql.refunds_for_payment(conn, payment_id, pending_only=True):
                resumed = await sql.mark_refund_attempt(conn, refund["id"])
                await conn.commit()
                request = RefundRequest(refund_id=str(refund["id"]), payment_id=payment_id,
                                        intent_id=row["provider_ref"], amount=refund["amount"],
                                        currency=row["currency"].strip())
                provider_ref = await self.gateway.find_refund(request) if resumed else None
                done.append((refund, provider_ref or await self.gateway.refund(request)))
            target = tx if tx is not None else conn
            for refund, provider_ref in done:
                await self.complete_refund(target, payment_id, refund, provider_ref)
            if tx is None:
                await conn.commit()

    async def complete_refund(self, conn: AsyncConnection, payment_id: str, refund: dict, provider_ref: str) -> None:
        row = await sql.get_payment(conn, payment_id)
        await sql.lock_order(conn, row["order_id"])
        payment = payment_of(await sql.get_payment(conn, payment_id, for_update=True))
        if await sql.complete_refund(conn, refund["id"], provider_ref) is None:
            return  # completed already
        after, (event_type, data) = payment.refund(refund["amount"], refund_id=str(refund["id"]),
                                                   reason=refund["reason"])
        await sql.set_refunded(conn, payment_id, after.status, after.refunded)
        await append_events(conn, [NewEvent(type=event_type, aggregate_id=payment_id, data=data)])
