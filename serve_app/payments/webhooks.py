"""Stripe webhooks: signature verification, then reconciliation through `Settlement`.

A verified event is applied once: its id goes into `stripe_webhook_events`
in the same transaction as its effect, so a replay is answered 200 and
changes nothing. `payment_intent.succeeded` / `payment_intent.payment_failed`
settle the payment named by the intent id (or, if the worker crashed before
recording the intent, by `metadata.payment_id`) exactly like the worker
does; every other event type is acknowledged and ignored.
"""

from __future__ import annotations

import logging
import uuid

import stripe

from domain.errors import DomainError
from serve_app.payments.settlement import Settlement
from serve_app.payments.stripe_gateway import outcome_of
from storage import payments as sql

log = logging.getLogger(__name__)

SETTLING_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed")
_STALE = "Timestamp outside the tolerance zone"


class BadSignature(DomainError):
    """The request is not a genuine, recent Stripe event (400)."""

    code = "invalid_signature"


def verify(payload: bytes, signature: str | None, secret: str, tolerance_s: int) -> dict:
    """The event as a dict, or BadSignature: `invalid_signature`, or `stale_signature`
    when the signature is right but older than the tolerance."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=tolerance_s, api_key="unused")
    except stripe.SignatureVerificationError as exc:
        if str(exc.user_message or exc).startswith(_STALE):
            raise BadSignature("The signature is too old.", code="stale_signature",
                               details={"tolerance_s": tolerance_s}) from None
        raise BadSignature("The Stripe-Signature header does not match the payload.") from None
    except ValueError:  # signed, but not JSON
        raise BadSignature("The payload is not a Stripe event.", code="invalid_payload") from None
    event = event.to_dict()
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise BadSignature("The payload is not a Stripe event.", code="invalid_payload")
    return event


async def reconcile(settlement: Settlement, event: dict) -> dict:
    """Apply a verified event once; return what happened (for the 200 body)."""
    async with settlement.pool.connection() as conn:
        if not await sql.remember_webhook_event(conn, event["id"], event["type"]):
            return {"received": True, "applied": False, "reason": "duplicate"}
        if event["type"] not in SETTLING_EVENTS:
            await conn.commit()
            return {"received": True, "applied": False, "reason": "ignored_type"}
        intent = (event.get("data") or {}).get("object") or {}
        row = await _payment_for(conn, intent)
        if row is None:
            log.warning("stripe event %s names no known payment (intent %s)", event["id"], intent.get("id"))
            await conn.commit()
            return {"received": True, "applied": False, "reason": "unknown_payment"}
        outcome = outcome_of(intent)
        applied = outcome.status != "pending" and await settlement.record_outcome(conn, str(row["id"]), outcome)
        await conn.commit()
    return {"received": True, "applied": bool(applied), "payment_id": str(row["id"])}


async def _payment_for(conn, intent: dict) -> dict | None:
    intent_id = intent.get("id")
    if not isinstance(intent_id, str):
        return None
    row = await sql.payment_by_provider_ref(conn, intent_id)
    if row is not None:
        return row
    payment_id = (intent.get("metadata") or {}).get("payment_id")
    if not payment_id:
        return None
    try:
        uuid.UUID(str(payment_id))
    except ValueError:
        return None
    row = await sql.get_payment(conn, str(payment_id))
    return row if row is not None and row["provider_ref"] in (None, intent_id) else None
