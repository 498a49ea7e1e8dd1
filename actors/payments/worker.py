"""The `payments` consumer: charges new payments and refunds what closed orders must not keep.

- PAYMENT_ADDED: charge once through the configured gateway (serve_app/payments/
  settlement.py); PAYMENT_SUCCESS / PAYMENT_FAILURE are recorded with the outcome,
  and the `orders` consumer moves the order.
- ORDER_CANCELLED, ORDER_EXPIRED, PAYMENT_SUCCESS: if the order now keeps no money
  (cancelled, even after it was paid; expired or failed before a late success),
  refund what its payments captured (PAYMENT_REFUNDED). The OrderActor returns
  the stock itself.

A gateway that cannot answer (`GatewayTransient`) raises out of `handle`, so the
event is redelivered with backoff (events/consumer.py), and dead-lettered after
`max_deliver`; the payment then stays `processing` until an admin retries it.
"""

from __future__ import annotations

from events.consumer import PoisonEvent
from events.envelope import EventEnvelope, subject_for
from serve_app.payments.gateway import PaymentRefused, build_gateway
from serve_app.payments.settlement import PaymentMissing, Settlement

REFUND_TRIGGERS = ("PAYMENT_SUCCESS", "ORDER_CANCELLED", "ORDER_EXPIRED")


class PaymentEventsHandler:
    consumer = "payments"
    subjects = tuple(subject_for(t) for t in ("PAYMENT_ADDED", *REFUND_TRIGGERS))

    def __init__(self, settlement: Settlement, consumer: str | None = None):
        self.settlement = settlement
        if consumer:  # tests run their own durable consumer beside the deployed one
            self.consumer = consumer

    async def handle(self, event: EventEnvelope, tx) -> None:
        key = "payment_id" if event.type == "PAYMENT_ADDED" else "order_id"
        target = event.data.get(key)
        if not target:
            raise PoisonEvent(f"{event.type} without {key}")
        try:
            if event.type == "PAYMENT_ADDED":
                await self.settlement.charge(tx, str(target))
            else:
                await self.settlement.refund_if_order_closed(tx, str(target))
        except PaymentMissing as exc:
            raise PoisonEvent(f"no payment {exc}") from None
        except PaymentRefused as exc:  # a refund the provider will never accept: needs a person
            raise PoisonEvent(f"refund refused by the provider: {exc.reason}") from None


def build(context) -> PaymentEventsHandler:
    gateway = build_gateway(context.settings, context.pool)
    context.closers.append(gateway.close)
    return PaymentEventsHandler(Settlement(context.pool, gateway))
