"""Payment use cases behind the routes: pay an order, read payments, refund.

Charging happens in the `payments` worker, after the PAYMENT_ADDED recorded
here commits; `?wait=` only watches the row until the worker settles it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from datetime import UTC, datetime

import orjson
from psycopg import errors as pg_errors

from actors.payments.state import PaymentStatus, check_payable, money, refund_amount
from domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from domain.ids import uuid_or_none
from events.envelope import NewEvent
from events.outbox import append_events
from serve_app.identity.tokens import Principal
from serve_app.pagination import aware_datetime, decode_cursor, encode_cursor, split_page, uuid_id
from serve_app.payments.gateway import GatewayTransient, PaymentRefused
from serve_app.payments.schemas import PaymentCreate, RefundCreate
from serve_app.payments.settlement import payment_of
from serve_app.payments.wiring import PaymentsContext
from storage import payments as sql

POLL_INTERVAL_S = 0.1
CURSOR_SCOPE = "order-payments"


def request_hash(*parts) -> str:
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _uuid(value: str, not_found: NotFound) -> str:
    parsed = uuid_or_none(value)
    if parsed is None:
        raise not_found
    return parsed


def _no_order() -> NotFound:
    return NotFound("No such order.", code="order_not_found")


def _no_payment() -> NotFound:
    return NotFound("No such payment.", code="payment_not_found")


def view(row: dict, refunds: list[dict] | None = None) -> dict:
    currency = row["currency"].strip()
    out = {
        "id": str(row["id"]), "order_id": str(row["order_id"]), "status": row["status"],
        "amount": money(row["amount"], currency), "refunded": money(row["refunded_amount"], currency),
        "provider": row["provider"], "payment_method": row["payment_method"],
        "failure_reason": row["failure_reason"], "created_at": row["created_at"], "updated_at": row["updated_at"],
    }
    if refunds is not None:
        out["refunds"] = [{
            "id": str(r["id"]), "amount": money(r["amount"], currency), "status": r["status"], "reason": r["reason"],
            "created_at": r["created_at"], "completed_at": r["completed_at"],
        } for r in refunds]
    return out


async def create_payment(ctx: PaymentsContext, principal: Principal, body: PaymentCreate,
                         idempotency_key: str | None) -> dict:
    """Record the payment (processing) and PAYMENT_ADDED in one transaction."""
    order_id = _uuid(body.order_id, _no_order())
    payment_id = str(uuid.uuid4())
    async with ctx.pool.connection() as conn:
        await sql.lock_order(conn, order_id)  # one payment decision per order at a time
        order = await sql.order_for_payment(conn, order_id)
        if order is None or str(order["user_id"]) != principal.user_id:
            raise _no_order()
        if idempotency_key:
            digest = request_hash(body.model_dump(mode="json"))
            claim = await sql.claim_idempotency_key(conn, principal.user_id, "payment", idempotency_key, digest,
                                                    payment_id)
            if claim["request_hash"] != digest:
                raise Conflict("This Idempotency-Key was used with another request.", code="idempotency_key_reused")
            if claim["resource_id"] != payment_id:  # a repeat: answer with the first payment
                return view(await sql.get_payment(conn, claim["resource_id"]))
        existing = await sql.payments_for_order(conn, order_id)
        check_payable(order["status"], order["expires_at"], datetime.now(UTC), order["total_amount"],
                      [row["status"] for row in existing])
        currency = order["currency"].strip()
        try:
            await sql.insert_payment(conn, {
                "id": payment_id, "order_id": order_id, "user_id": principal.user_id,
                "status": PaymentStatus.PROCESSING, "amount": order["total_amount"], "currency": currency,
                "provider": ctx.provider, "payment_method": body.payment_method,
            })
        except pg_errors.UniqueViolation:  # the partial unique index: one live payment per order
            raise Conflict("A payment for this order is already being processed.",
                           code="payment_in_progress") from None
        await append_events(conn, [NewEvent(type="PAYMENT_ADDED", aggregate_id=payment_id, data={
            "payment_id": payment_id, "order_id": order_id, "user_id": principal.user_id,
            "amount": money(order["total_amount"], currency), "provider": ctx.provider,
            "payment_method": body.payment_method,
        })])
        row = await sql.get_payment(conn, payment_id)
        await conn.commit()
    return view(row)


async def wait_for_outcome(ctx: PaymentsContext, payment: dict, wait_s: float) -> dict:
    """Poll the row until the payment leaves `processing` or `wait_s` passes."""
    deadline = time.monotonic() + wait_s
    while payment["status"] == PaymentStatus.PROCESSING and time.monotonic() < deadline:
        await asyncio.sleep(POLL_INTERVAL_S)
        async with ctx.pool.connection() as conn:
            payment = view(await sql.get_payment(conn, payment["id"]))
    return payment


async def get_payment(ctx: PaymentsContext, principal: Principal, payment_id: str) -> dict:
    payment_id = _uuid(payment_id, _no_payment())
    async with ctx.pool.connection() as conn:
        row = await sql.get_payment(conn, payment_id)
        if row is None or (principal.role != "admin" and str(row["user_id"]) != principal.user_id):
            raise _no_payment()
        return view(row, await sql.refunds_for_payment(conn, payment_id))


async def list_for_order(ctx: PaymentsContext, principal: Principal, order_id: str, *, cursor: str | None,
                         limit: int) -> dict:
    order_id = _uuid(order_id, _no_order())
    after = decode_cursor(cursor, CURSOR_SCOPE, (aware_datetime, uuid_id)) if cursor else None
    async with ctx.pool.connection() as conn:
        order = await sql.order_for_payment(conn, order_id)
        if order is None or (principal.role != "admin" and str(order["user_id"]) != principal.user_id):
            raise _no_order()
        rows = await sql.payments_for_order(conn, order_id, after=after, limit=limit + 1)
    page, last = split_page(rows, limit)
    return {"items": [view(row) for row in page],
            "next_cursor": last and encode_cursor(CURSOR_SCOPE, [last["created_at"].isoformat(), str(last["id"])])}


async def refund_payment(ctx: PaymentsContext, principal: Principal, payment_id: str, body: RefundCreate,
                         idempotency_key: str | None) -> dict:
    """Record a pending refund, run it through the gateway, answer with the payment."""
    payment_id = _uuid(payment_id, _no_payment())
    refund_id = str(uuid.uuid4())
    async with ctx.pool.connection() as conn:
        row = await sql.get_payment(conn, payment_id)
        if row is None:
            raise _no_payment()
        if row["provider"] != ctx.provider:
            raise Conflict(f"This payment was made through {row['provider']}, not {ctx.provider}.",
                           code="provider_mismatch")
        await sql.lock_order(conn, row["order_id"])
        create = True
        if idempotency_key:
            digest = request_hash(payment_id, body.model_dump(mode="json"))
            claim = await sql.claim_idempotency_key(conn, principal.user_id, "refund", idempotency_key, digest,
                                                    refund_id)
            if claim["request_hash"] != digest:
                raise Conflict("This Idempotency-Key was used with another request.", code="idempotency_key_reused")
            create = claim["resource_id"] == refund_id  # else a repeat: resume or report the first refund
        if create:
            payment = payment_of(await sql.get_payment(conn, payment_id, for_update=True))
            try:
                requested = body.minor_units(payment.currency)
            except ValueError:
                raise InvalidInput(f"Refund in the payment's currency, {payment.currency}.", code="currency_mismatch",
                                   details={"payment_currency": payment.currency}) from None
            amount = refund_amount(payment, requested)
            await sql.insert_refund(conn, {"id": refund_id, "payment_id": payment_id, "amount": amount,
                                           "reason": "refunded by an admin", "requested_by": principal.user_id})
        await conn.commit()
    try:
        await ctx.settlement.settle_refunds(payment_id)
    except GatewayTransient:
        raise Unavailable("The payment gateway did not answer; the refund is pending. Retry with the same "
                          "Idempotency-Key to finish it.", code="gateway_unavailable") from None
    except PaymentRefused as refused:
        raise Conflict("The payment provider refused the refund.", code="refund_refused",
                       details={"reason": refused.reason}) from None
    return await get_payment(ctx, principal, payment_id)
