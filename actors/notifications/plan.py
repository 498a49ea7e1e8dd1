"""Which messages an event makes, for whom, on which channel (pure: no I/O).

The handler looks the facts up (the user, the order); this module turns
them into rendered messages, each `pending` (to be sent) or `skipped` with a
reason (the user opted out of the channel). A channel without an address
(SMS without a phone number) makes no message at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from serve_app.notifications.templates import TEMPLATES, Rendered, format_money, render

NOTIFIED_EVENTS: tuple[str, ...] = tuple(TEMPLATES)
# Events that name an order (`data.order_id`); the order names the user.
ORDER_EVENTS = frozenset(NOTIFIED_EVENTS) - {"USER_REGISTERED"}


@dataclass(frozen=True)
class Recipient:
    user_id: str
    name: str
    email: str
    phone: str | None
    email_opt_in: bool
    sms_opt_in: bool


@dataclass(frozen=True)
class OrderFacts:
    id: str
    total_amount: int
    currency: str
    item_count: int
    expires_at: datetime | None


@dataclass(frozen=True)
class Planned:
    message: Rendered
    recipient: str
    status: str  # "pending" | "skipped"
    skip_reason: str | None = None


def context_for(event_type: str, data: dict[str, Any], recipient: Recipient, order: OrderFacts | None) -> dict[str, str]:
    context = {
        "name": recipient.name or "there",
        "partner": str(data.get("partner") or "our courier"),
        "tracking_number": str(data.get("tracking_number") or "not yet known"),
        "reason": str(data.get("reason") or "no reason given"),
        "refund_note": " Your payment will be refunded." if data.get("refund") else "",
    }
    if order is not None:
        total = format_money(order.total_amount, order.currency)
        paid = data.get("amount")  # payment events: {"amount", "currency"}
        context |= {
            "order_ref": order.id[:8].upper(),
            "total": total,
            "amount": format_money(paid["amount"], paid["currency"]) if isinstance(paid, dict) else total,
            "item_count": str(order.item_count),
            "expires_at": order.expires_at.strftime("%Y-%m-%d %H:%M UTC") if order.expires_at else "soon",
        }
    return context


def plan(event_type: str, data: dict[str, Any], recipient: Recipient, order: OrderFacts | None) -> list[Planned]:
    context = context_for(event_type, data, recipient, order)
    planned = []
    for template in TEMPLATES.get(event_type, ()):
        address = recipient.email if template.channel == "email" else recipient.phone
        if not address:
            continue
        opted_in = recipient.email_opt_in if template.channel == "email" else recipient.sms_opt_in
        planned.append(Planned(
            message=render(template, context), recipient=address,
            status="pending" if opted_in else "skipped", skip_reason=None if opted_in else "opted_out",
        ))
    return planned


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for transient send failures, then `failed`."""

    max_attempts: int = 8
    first_delay_s: float = 5.0
    max_delay_s: float = 600.0

    def delay_after(self, attempts: int) -> float | None:
        """Seconds until the next attempt after `attempts` failed ones; None: give up."""
        if attempts >= self.max_attempts:
            return None
        return min(self.first_delay_s * 2 ** (attempts - 1), self.max_delay_s)
