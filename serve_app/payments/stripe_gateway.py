"""The Stripe adapter: PaymentIntents through the `stripe` SDK (async, httpx).

- Intents are created unconfirmed, then confirmed, each call with an
  idempotency key derived from the payment id; real Stripe honours them,
  localstripe does not, which is why `find_charge` exists (see gateway.py).
- Timeouts, connection errors, 5xx, 429 and idempotency conflicts are retried
  here with exponential backoff and full jitter (the SDK's own retries are
  off), then surface as `GatewayTransient` for the worker to retry later.
- Bad credentials are also `GatewayTransient`: a misconfigured shop must not
  turn shoppers' payments into failures; the event ends in dead letters.
- `stripe_api_base` points the client at localstripe in tests.
"""

from __future__ import annotations

import asyncio
from typing import Any

import stripe

from serve_app.payments.gateway import (
    ChargeOutcome, ChargeRequest, GatewayTransient, PaymentRefused, RefundRequest, with_backoff,
)

PAGE_SIZE = 100


def retryable(exc: BaseException) -> bool:
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError, stripe.IdempotencyError)):
        return True
    return isinstance(exc, stripe.StripeError) and (exc.http_status or 0) >= 500


class StripeGateway:
    provider = "stripe"

    def __init__(self, api_key: str, *, api_base: str | None = None, timeout_s: float = 10.0, attempts: int = 4,
                 base_s: float = 0.25, cap_s: float = 4.0, list_pages: int = 10, sleep=asyncio.sleep):
        self._http = stripe.HTTPXClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            api_key, base_addresses={"api": api_base} if api_base else None, http_client=self._http,
            max_network_retries=0,
        )
        self._retry = {"attempts": attempts, "base_s": base_s, "cap_s": cap_s, "sleep": sleep}
        self._list_pages = list_pages

    async def _call(self, what: str, call):
        try:
            return await with_backoff(call, retryable=retryable, **self._retry)
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise GatewayTransient(f"stripe {what}: credentials refused ({exc.http_status})") from exc
        except Exception as exc:
            if retryable(exc):
                raise GatewayTransient(f"stripe {what}: {type(exc).__name__} ({getattr(exc, 'http_status', None)})") from exc
            raise

    async def _scan(self, lister, params: dict, match) -> str | None:
        """The id of the first listed object `match` accepts, over at most `list_pages` pages."""
        after = None
        for _ in range(self._list_pages):
            page = await self._call("list", lambda: lister(params={
                **params, "limit": PAGE_SIZE, **({"starting_after": after} if after else {})}))
            for item in page.data:
                if match(_plain(item)):
                    return item.id
            if not page.has_more or not page.data:
                return None
            after = page.data[-1].id
        return None

    # -- charges -------------------------------------------------------------------

    async def find_charge(self, charge: ChargeRequest) -> str | None:
        return await self._scan(self._client.v1.payment_intents.list_async, {},
                                lambda pi: (pi.get("metadata") or {}).get("payment_id") == charge.payment_id)

    async def create_charge(self, charge: ChargeRequest) -> str:
        params = {
            "amount": charge.amount, "currency": charge.currency.lower(), "payment_method": charge.payment_method,
            "payment_method_types": ["card"],
            "metadata": {"payment_id": charge.payment_id, "order_id": charge.order_id},
        }
        try:
            intent = await self._call("create", lambda: self._client.v1.payment_intents.create_async(
                params=params, options={"idempotency_key": f"payment-{charge.payment_id}-create"}))
        except (stripe.CardError, stripe.InvalidRequestError) as exc:
            raise PaymentRefused(_reason(exc)) from exc
        return intent.id

    async def confirm_charge(self, intent_id: str, charge: ChargeRequest) -> ChargeOutcome:
        intents = self._client.v1.payment_intents
        intent = await self._call("retrieve", lambda: intents.retrieve_async(intent_id))
        if intent.status == "requires_confirmation":
            try:
                intent = await self._call("confirm", lambda: intents.confirm_async(
                    intent_id, options={"idempotency_key": f"payment-{charge.payment_id}-confirm"}))
            except (stripe.CardError, stripe.InvalidRequestError) as exc:
                return ChargeOutcome("failed", intent_id, _reason(exc))
        return outcome_of(_plain(intent))

    # -- refunds -------------------------------------------------------------------

    async def find_refund(self, refund: RefundRequest) -> str | None:
        return await self._scan(self._client.v1.refunds.list_async, {"payment_intent": refund.intent_id},
                                lambda re: (re.get("metadata") or {}).get("refund_id") == refund.refund_id)

    async def refund(self, refund: RefundRequest) -> str:
        params = {"payment_intent": refund.intent_id, "amount": refund.amount,
                  "metadata": {"refund_id": refund.refund_id, "payment_id": refund.payment_id}}
        try:
            created = await self._call("refund", lambda: self._client.v1.refunds.create_async(
                params=params, options={"idempotency_key": f"refund-{refund.refund_id}"}))
        except stripe.InvalidRequestError as exc:
            raise PaymentRefused(_reason(exc)) from exc
        return created.id

    async def close(self) -> None:
        await self._http.close_async()


def outcome_of(intent: dict[str, Any]) -> ChargeOutcome:
    """A PaymentIntent (as a dict, from the API or a webhook) as our outcome."""
    status, intent_id = intent.get("status"), intent["id"]
    if status == "succeeded":
        return ChargeOutcome("succeeded", intent_id)
    if status in ("processing", "requires_capture", "requires_confirmation"):
        return ChargeOutcome("pending", intent_id)
    error = intent.get("last_payment_error") or {}
    reason = error.get("decline_code") or error.get("code") or {
        "requires_action": "authentication_required", "canceled": "canceled",
    }.get(status, "payment_failed")
    return ChargeOutcome("failed", intent_id, reason)


def _plain(obj) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _reason(exc: stripe.StripeError) -> str:
    error = getattr(exc, "error", None)
    decline = getattr(error, "decline_code", None) if error is not None else None
    return decline or exc.code or ("invalid_payment_method" if exc.http_status == 404 else "payment_refused")
