"""The `orders` consumer's mapping from events to OrderActor commands (no servers)."""

import uuid
from datetime import UTC, datetime

from actors.orders.consumer import OrderEventsHandler
from actors.orders.model import Advance, Paid
from actors.orders.state import OrderTrigger
from events.envelope import EventEnvelope


def envelope(type_: str, **data) -> EventEnvelope:
    return EventEnvelope(id=uuid.uuid4(), type=type_, aggregate_id="x", sequence=1,
                         occurred_at=datetime.now(UTC), data=data)


def test_payment_success_is_paid_by_payment_id():
    assert OrderEventsHandler(None).commands(envelope("PAYMENT_SUCCESS", order_id="o", payment_id="p")) == [Paid("p")]


def test_a_late_delivery_event_brings_the_steps_before_it():
    commands = OrderEventsHandler(None).commands(envelope("DELIVERY_COMPLETED", order_id="o"))
    assert [c.trigger for c in commands] == [
        OrderTrigger.START_FULFILMENT, OrderTrigger.SHIP, OrderTrigger.DELIVER, OrderTrigger.COMPLETE]
    assert all(isinstance(c, Advance) for c in commands)
    assert len({c.ref for c in commands}) == 4  # each step once per event
