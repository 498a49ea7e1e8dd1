"""Routes: payments (API.md "Payments"). Use cases: serve_app/payments/service.py."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from starlette.responses import JSONResponse

from domain.errors import Unavailable
from serve_app.auth import current_principal, require_roles
from serve_app.idempotency import IdempotencyKey
from serve_app.identity.tokens import Principal
from serve_app.pagination import PageCursor, PageLimit
from serve_app.payments import service, webhooks
from serve_app.payments.schemas import MAX_WAIT_S, PaymentCreate, PaymentPage, PaymentPublic, RefundCreate
from serve_app.payments.wiring import PaymentsContext, get_payments

router = APIRouter(tags=["payments"])



@router.post("/api/payments", status_code=201, response_model=PaymentPublic,
             summary="Pay an order awaiting payment (charged by the payments worker)")
async def create_payment(
    body: PaymentCreate, payments: PaymentsContext = Depends(get_payments),
    principal: Principal = Depends(require_roles("shopper")), idempotency_key: str | None = IdempotencyKey,
    wait: float = Query(default=0, ge=0, le=MAX_WAIT_S, description="Seconds to wait for the outcome"),
):
    """201 at once with status `processing`; with `?wait=` the answer waits (at most that
    long) for `succeeded` / `failed`. 409 `already_paid`, `payment_in_progress`,
    `payment_failed`, `order_expired`, `illegal_transition` (order not awaiting payment)."""
    payment = await service.create_payment(payments, principal, body, idempotency_key)
    return await service.wait_for_outcome(payments, payment, wait) if wait else payment


@router.get("/api/payments/{payment_id}", response_model=PaymentPublic, response_model_exclude_none=False,
            summary="One payment with its refunds (owner or admin)")
async def get_payment(payment_id: str, payments: PaymentsContext = Depends(get_payments),
                      principal: Principal = Depends(current_principal)):
    return await service.get_payment(payments, principal, payment_id)


@router.get("/api/orders/{order_id}/payments", response_model=PaymentPage, summary="An order's payments (owner or admin)")
async def order_payments(
    order_id: str, payments: PaymentsContext = Depends(get_payments), principal: Principal = Depends(current_principal),
    limit: PageLimit = 20, cursor: PageCursor = None,
):
    return await service.list_for_order(payments, principal, order_id, cursor=cursor or None, limit=limit)


@router.post("/api/payments/{payment_id}/refund", status_code=201, response_model=PaymentPublic,
             summary="Refund all (default) or part of a payment (admin)")
async def refund_payment(
    payment_id: str, body: RefundCreate | None = Body(default=None),
    payments: PaymentsContext = Depends(get_payments), principal: Principal = Depends(require_roles("admin")),
    idempotency_key: str | None = IdempotencyKey,
):
    """422 `refund_too_large` beyond what is left; 409 `not_refundable`; 503 `gateway_unavailable`
    (the refund stays pending: repeat with the same Idempotency-Key)."""
    return await service.refund_payment(payments, principal, payment_id, body or RefundCreate(), idempotency_key)


@router.post("/api/payments/webhooks/stripe", summary="Stripe events, verified by Stripe-Signature")
async def stripe_webhook(request: Request, payments: PaymentsContext = Depends(get_payments),
                         stripe_signature: str | None = Header(default=None)):
    """400 `invalid_signature` / `stale_signature`; a replayed event id is 200 and changes nothing."""
    secret = payments.settings.stripe_webhook_secret
    if secret is None:
        raise Unavailable("Stripe webhooks are not configured (COMMERCE_STRIPE_WEBHOOK_SECRET).",
                          code="webhook_not_configured")
    event = webhooks.verify(await request.body(), stripe_signature, secret.get_secret_value(),
                            payments.settings.stripe_webhook_tolerance_s)
    return JSONResponse(await webhooks.reconcile(payments.settlement, event))
