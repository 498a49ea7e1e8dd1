"""The `notifications` consumer: store the messages an event makes.

Events carry ids; the user (email, name, opt-outs) and the order (total,
phone of the shipping address) are read here, in the consumer's transaction.
Rows are inserted with the inbox row, unique per (event, channel, user), so
a redelivered event stores nothing twice and hence sends nothing twice.
Sending happens after commit (`dispatcher.py`).
"""

from __future__ import annotations

import uuid

from actors.notifications.plan import NOTIFIED_EVENTS, ORDER_EVENTS, OrderFacts, Recipient, plan
from events.consumer import PoisonEvent
from events.envelope import EventEnvelope, subject_for
from storage import notifications as sql
from storage import orders as order_sql
from storage import users as user_sql


class NotificationsHandler:
    consumer = "notifications"
    subjects = tuple(subject_for(t) for t in NOTIFIED_EVENTS)

    async def handle(self, event: EventEnvelope, tx) -> None:
        order = None
        phone = None
        if event.type in ORDER_EVENTS:
            order, user_id, phone = await self._order(event, tx)
        else:
            user_id = _uuid(event, "user_id")
        user = await user_sql.get_user(tx, user_id)
        if user is None:  # erased since: nothing is sent to, or kept about, them
            return
        recipient = Recipient(
            user_id=str(user.id), name=user.name, email=user.email, phone=phone,
            email_opt_in=user.notify_email, sms_opt_in=user.notify_sms,
        )
        rows = [{
            "id": uuid.uuid4(), "user_id": user.id, "event_id": event.id, "event_type": event.type,
            "channel": p.message.channel, "template": p.message.template, "recipient": p.recipient,
            "subject": p.message.subject, "body": p.message.body, "status": p.status, "skip_reason": p.skip_reason,
        } for p in plan(event.type, event.data, recipient, order)]
        await sql.insert_many(tx, rows)

    async def _order(self, event: EventEnvelope, tx) -> tuple[OrderFacts, uuid.UUID, str | None]:
        order_id = _uuid(event, "order_id")
        loaded = await order_sql.load_order(tx, str(order_id))
        if loaded is None:
            raise PoisonEvent(f"{event.type}: no order {order_id}")
        row, lines = loaded
        facts = OrderFacts(
            id=str(row["id"]), total_amount=row["total_amount"], currency=row["currency"],
            item_count=sum(line["quantity"] for line in lines), expires_at=row["expires_at"],
        )
        phone = (row["shipping_address"] or {}).get("phone")
        return facts, row["user_id"], phone


def _uuid(event: EventEnvelope, key: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(event.data[key]))
    except (KeyError, ValueError):
        raise PoisonEvent(f"{event.type} without a valid {key}") from None
