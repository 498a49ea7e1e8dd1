"""The simulated gateway: the embedded default provider, with Stripe-like test methods.

It keeps its own ledger in PostgreSQL (`simulated_payment_intents`,
`simulated_refunds`), so its state survives restarts and is the same in every
process (ingress and worker), and tests can count its charges. Like
localstripe it honours no idempotency keys: each `create_charge` makes a new
intent, so at-most-once charging is up to the caller.

Test methods (what `confirm_charge` does):

| method | outcome |
|---|---|
| `pm_card_visa`, `pm_card_mastercard`, `pm_card_amex` | succeeds |
| `pm_card_chargeDeclined`, `pm_card_visa_chargeDeclined`, `pm_card_chargeCustomerFail` | declined (`card_declined`) |
| `pm_card_chargeDeclinedInsufficientFunds` | declined (`insufficient_funds`) |
| `pm_card_transient` | fails transiently on the first two confirms, then succeeds |
| `pm_card_pending` | stays processing: the outcome comes by webhook |
| anything else | refused at creation (`invalid_payment_method`) |
"""

from __future__ import annotations

import secrets

from psycopg_pool import AsyncConnectionPool

from serve_app.payments.gateway import ChargeOutcome, ChargeRequest, GatewayTransient, PaymentRefused, RefundRequest
from storage import payments as sql

SUCCEEDS = frozenset({"pm_card_visa", "pm_card_mastercard", "pm_card_amex"})
DECLINES = {
    "pm_card_chargeDeclined": "card_declined",
    "pm_card_visa_chargeDeclined": "card_declined",
    "pm_card_chargeCustomerFail": "card_declined",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
}
TRANSIENT_FAILURES = {"pm_card_transient": 2}  # method -> confirms that fail before it succeeds
PENDING = frozenset({"pm_card_pending"})
KNOWN = SUCCEEDS | DECLINES.keys() | TRANSIENT_FAILURES.keys() | PENDING


class SimulatedGateway:
    provider = "simulated"

    def __init__(self, pool: AsyncConnectionPool):
        self._pool = pool

    async def find_charge(self, charge: ChargeRequest) -> str | None:
        async with self._pool.connection() as conn:
            intents = await sql.sim_intents_for_payment(conn, charge.payment_id)
        return intents[0]["id"] if intents else None

    async def create_charge(self, charge: ChargeRequest) -> str:
        if charge.payment_method not in KNOWN:
            raise PaymentRefused("invalid_payment_method")
        intent_id = f"pi_sim_{secrets.token_hex(12)}"
        async with self._pool.connection() as conn:
            await sql.sim_insert_intent(conn, {
                "id": intent_id, "payment_id": charge.payment_id, "amount": charge.amount,
                "currency": charge.currency, "payment_method": charge.payment_method,
            })
            await conn.commit()
        return intent_id

    async def confirm_charge(self, intent_id: str, charge: ChargeRequest) -> ChargeOutcome:
        async with self._pool.connection() as conn:
            async with conn.transaction():
                intent = await sql.sim_get_intent(conn, intent_id, for_update=True)
                if intent is None:
                    raise PaymentRefused("no_such_intent")
                if intent["status"] == "requires_confirmation":
                    method = intent["payment_method"]
                    if intent["confirm_calls"] < TRANSIENT_FAILURES.get(method, 0):
                        await sql.sim_update_intent(conn, intent_id, "requires_confirmation", None)
                        transient = True
                    else:
                        status, code = _decide(method)
                        await sql.sim_update_intent(conn, intent_id, status, code)
                        intent = {**intent, "status": status, "failure_code": code}
                        transient = False
            if transient:  # committed: the next confirm counts on from here
                raise GatewayTransient(f"simulated transient failure of {intent_id}")
        return _outcome(intent)

    async def find_refund(self, refund: RefundRequest) -> str | None:
        async with self._pool.connection() as conn:
            done = await sql.sim_refunds(conn, refund.intent_id)
        return next((row["id"] for row in done if str(row["refund_id"]) == refund.refund_id), None)

    async def refund(self, refund: RefundRequest) -> str:
        refund_ref = f"re_sim_{secrets.token_hex(12)}"
        async with self._pool.connection() as conn:
            async with conn.transaction():
                intent = await sql.sim_get_intent(conn, refund.intent_id, for_update=True)
                if intent is None or intent["status"] != "succeeded":
                    raise PaymentRefused("charge_not_refundable")
                already = sum(row["amount"] for row in await sql.sim_refunds(conn, refund.intent_id))
                if already + refund.amount > intent["amount"]:
                    raise PaymentRefused("amount_too_large")
                await sql.sim_insert_refund(conn, {"id": refund_ref, "intent_id": refund.intent_id,
                                                   "refund_id": refund.refund_id, "amount": refund.amount})
        return refund_ref

    async def close(self) -> None:
        return None


def _decide(method: str) -> tuple[str, str | None]:
    if method in DECLINES:
        return "requires_payment_method", DECLINES[method]
    if method in PENDING:
        return "processing", None
    return "succeeded", None


def _outcome(intent: dict) -> ChargeOutcome:
    if intent["status"] == "succeeded":
        return ChargeOutcome("succeeded", intent["id"])
    if intent["status"] == "processing":
        return ChargeOutcome("pending", intent["id"])
    return ChargeOutcome("failed", intent["id"], intent["failure_code"] or "payment_failed")
