"""The Stripe webhook over HTTP: forged, stale and replayed events change nothing;
a genuine one settles a payment; a success after the hold expired is refunded."""

from __future__ import annotations

import json
import time
import uuid

import psycopg
import stripe

from tests.e2e.test_orders_http import admin, shopper  # noqa: F401  (fixtures)
from tests.e2e.test_payments_http import PAID_OR_LATER, events, new_order, order_status, pay, payment_of, rows
from tests.helpers import eventually

URL = "/api/payments/webhooks/stripe"


def intent_event(intent_id: str, payment_id: str, *, succeeded: bool = True, event_id: str | None = None) -> str:
    intent = {"id": intent_id, "object": "payment_intent", "metadata": {"payment_id": payment_id},
              "status": "succeeded" if succeeded else "requires_payment_method",
              "last_payment_error": None if succeeded else {"code": "card_declined"}}
    return json.dumps({
        "id": event_id or f"evt_{uuid.uuid4().hex}", "object": "event",
        "type": "payment_intent.succeeded" if succeeded else "payment_intent.payment_failed",
        "data": {"object": intent},
    })


def post_event(http, system, payload: str, *, secret: str | None = None, at: float | None = None):
    secret = secret or system.settings.stripe_webhook_secret.get_secret_value()
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=int(at or time.time()))
    return http.post(URL, content=payload, headers={"Stripe-Signature": header, "Content-Type": "application/json"})


async def pending_payment(system, http, shopper_headers) -> tuple[dict, dict, str]:
    """An order with a payment the simulated provider keeps processing; its intent id."""
    _, order = await new_order(system, http, shopper_headers)
    payment = pay(http, shopper_headers, order["id"], "pm_card_pending").json()

    async def intent_recorded():
        found = await rows(system, "SELECT provider_ref FROM payments WHERE id = %s AND provider_ref IS NOT NULL",
                           payment["id"])
        return found and found[0][0]

    return order, payment, await eventually(intent_recorded, timeout_s=20)


async def provider_settles(system, intent_id: str) -> None:
    """Play the provider: the pending charge succeeds in its ledger, then it sends the event."""
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        await conn.execute("UPDATE simulated_payment_intents SET status = 'succeeded' WHERE id = %s", (intent_id,))
        await conn.commit()


async def test_forged_stale_and_replayed_events_change_nothing(system, http, admin, shopper):
    order, payment, intent = await pending_payment(system, http, shopper[1])
    genuine = intent_event(intent, payment["id"])

    forged = post_event(http, system, genuine, secret="whsec_not_the_shops_secret")
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_signature"
    tampered = http.post(URL, content=genuine.replace("succeeded", "SUCCEEDED"),
                         headers={"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
                             genuine, system.settings.stripe_webhook_secret.get_secret_value())})
    assert tampered.status_code == 400 and tampered.json()["error"]["code"] == "invalid_signature"
    unsigned = http.post(URL, content=genuine)
    assert unsigned.status_code == 400
    stale = post_event(http, system, genuine, at=time.time() - system.settings.stripe_webhook_tolerance_s - 60)
    assert stale.status_code == 400 and stale.json()["error"]["code"] == "stale_signature"
    assert payment_of(http, shopper[1], payment["id"])["status"] == "processing"
    assert events(http, admin, "PAYMENT_SUCCESS", payment["id"]) == []

    await provider_settles(system, intent)
    applied = post_event(http, system, genuine)
    assert applied.status_code == 200 and applied.json()["applied"] is True
    assert payment_of(http, shopper[1], payment["id"])["status"] == "succeeded"
    await eventually(lambda: order_status(http, shopper[1], order["id"]) in PAID_OR_LATER, timeout_s=20)

    # The same event id again, now (re-signed) naming another pending payment as failed: ignored.
    _, other, other_intent = await pending_payment(system, http, shopper[1])
    replay = intent_event(other_intent, other["id"], succeeded=False, event_id=json.loads(genuine)["id"])
    replayed = post_event(http, system, replay)
    assert replayed.status_code == 200 and replayed.json() == {"received": True, "applied": False,
                                                               "reason": "duplicate"}
    assert payment_of(http, shopper[1], other["id"])["status"] == "processing"
    assert len(events(http, admin, "PAYMENT_SUCCESS", payment["id"])) == 1
    assert events(http, admin, "PAYMENT_FAILURE", other["id"]) == []

    failed = post_event(http, system, intent_event(other_intent, other["id"], succeeded=False))
    assert failed.status_code == 200 and failed.json()["applied"] is True
    assert payment_of(http, shopper[1], other["id"])["failure_reason"] == "card_declined"

    unknown = post_event(http, system, intent_event("pi_unknown", str(uuid.uuid4())))
    assert unknown.status_code == 200 and unknown.json()["applied"] is False


async def test_a_success_after_the_hold_expired_is_refunded(system, http, admin, shopper):
    order, payment, intent = await pending_payment(system, http, shopper[1])
    await eventually(lambda: order_status(http, shopper[1], order["id"]) == "EXPIRED",
                     timeout_s=system.settings.order_hold_ttl_s + 30)
    refused = pay(http, shopper[1], order["id"])
    assert refused.status_code == 409

    await provider_settles(system, intent)
    assert post_event(http, system, intent_event(intent, payment["id"])).json()["applied"] is True
    # PAYMENT_SUCCESS reaches the orders consumer (EXPIRED cannot be paid: ignored)
    # and the payments worker, which refunds what the expired order must not keep.
    await eventually(lambda: payment_of(http, shopper[1], payment["id"])["status"] == "refunded", timeout_s=20)
    (refund,) = events(http, admin, "PAYMENT_REFUNDED", payment["id"])
    assert refund["data"]["reason"] == "order expired"
    assert order_status(http, shopper[1], order["id"]) == "EXPIRED"
    assert events(http, admin, "ORDER_PAID", order["id"]) == []
