"""The `orders` consumer: payment and delivery events become OrderActor commands.

Each command is idempotent by the event's id (or the payment id), so a
redelivered event, or one replayed from the outbox, moves the order once.
"""

from __future__ import annotations

from actors.orders.model import Advance, Paid, PaymentFailed
from actors.orders.state import OrderTrigger
from domain.errors import IllegalTransition, NotFound
from events.consumer import PoisonEvent
from events.envelope import EventEnvelope, subject_for

# Event type -> the order triggers it implies, in order. Each event carries the
# steps before it too, so an event handled before its predecessor (a retry, a
# partner's webhooks out of order) still moves the order along; a step already
# taken is an illegal transition and is skipped.
DELIVERY_STEPS: dict[str, tuple[OrderTrigger, ...]] = {
    "DELIVERY_STARTED": (OrderTrigger.START_FULFILMENT,),
    "DELIVERY_COURIERED_PARTNER": (OrderTrigger.START_FULFILMENT, OrderTrigger.SHIP),
    "DELIVERY_COMPLETED": (OrderTrigger.START_FULFILMENT, OrderTrigger.SHIP, OrderTrigger.DELIVER,
                           OrderTrigger.COMPLETE),
}


class OrderEventsHandler:
    consumer = "orders"
    subjects = tuple(subject_for(t) for t in ("PAYMENT_SUCCESS", "PAYMENT_FAILURE", *DELIVERY_STEPS))

    def __init__(self, actors):
        self._actors = actors

    def commands(self, event: EventEnvelope) -> list:
        if event.type == "PAYMENT_SUCCESS":
            return [Paid(str(event.data["payment_id"]))]
        if event.type == "PAYMENT_FAILURE":
            return [PaymentFailed(str(event.data["payment_id"]))]
        return [Advance(trigger, f"{event.id}:{trigger.value}", {"delivery_event": event.type})
                for trigger in DELIVERY_STEPS[event.type]]

    async def handle(self, event: EventEnvelope, tx) -> None:
        order_id = event.data.get("order_id")
        if not order_id:
            raise PoisonEvent(f"{event.type} without order_id")
        for command in self.commands(event):
            try:
                await self._actors.ask("order", str(order_id), command)
            except NotFound as exc:
                raise PoisonEvent(f"order {order_id}: {exc.message}") from None
            except IllegalTransition:
                # E.g. a payment that succeeded after the hold expired: the order
                # cannot take it; the payment worker refunds such payments.
                pass


def build(context) -> OrderEventsHandler:
    return OrderEventsHandler(context.actors)
