"""Message templates, one per (event type, channel); pure (stdlib only).

`string.Template` with `substitute`, so a template naming a value the context
lacks fails loudly (a unit test renders every template) instead of mailing a
literal `$name`. Templates hold no HTML: mails are plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template
from typing import Literal

Channel = Literal["email", "sms"]

# ISO 4217 minor-unit exponents that are not 2.
_EXPONENTS = {
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
}


def format_money(amount: int, currency: str) -> str:
    """`1250, "USD"` -> `12.50 USD`; integer arithmetic only (money is never a float)."""
    exponent = _EXPONENTS.get(currency, 2)
    if exponent == 0:
        return f"{amount} {currency}"
    units, minor = divmod(amount, 10**exponent)
    return f"{units}.{minor:0{exponent}d} {currency}"


@dataclass(frozen=True)
class MessageTemplate:
    name: str
    channel: Channel
    subject: Template
    body: Template


@dataclass(frozen=True)
class Rendered:
    template: str
    channel: Channel
    subject: str
    body: str


_SIGNATURE = "\n\n-- \nCommerce\n"


def _email(name: str, subject: str, body: str) -> MessageTemplate:
    return MessageTemplate(name, "email", Template(subject), Template("Hello $name,\n\n" + body + _SIGNATURE))


def _sms(name: str, body: str) -> MessageTemplate:
    return MessageTemplate(name, "sms", Template(""), Template("Commerce: " + body))


# Event type -> its messages. An event type that is not here sends nothing.
TEMPLATES: dict[str, tuple[MessageTemplate, ...]] = {
    "USER_REGISTERED": (
        _email("welcome", "Welcome to Commerce, $name",
               "your account is ready. Sign in with this email address to shop and to track your orders."),
    ),
    "ORDER_PLACED": (
        _email("order_placed", "We received your order $order_ref",
               "thank you for your order $order_ref: $item_count item(s), $total in all.\n"
               "We hold the items for you until $expires_at; pay before then to keep them."),
    ),
    "PAYMENT_SUCCESS": (
        _email("payment_received", "Payment received for order $order_ref",
               "we received your payment of $amount for order $order_ref. "
               "We will tell you when it leaves our warehouse."),
    ),
    "PAYMENT_FAILURE": (
        _email("payment_failed", "Payment failed for order $order_ref",
               "your payment for order $order_ref did not go through ($reason), so the order was not completed "
               "and its items were released. You are welcome to order again."),
        _sms("payment_failed", "the payment for order $order_ref failed; the order was not completed."),
    ),
    "ORDER_CANCELLED": (
        _email("order_cancelled", "Order $order_ref was cancelled",
               "your order $order_ref was cancelled ($reason).$refund_note"),
    ),
    "ORDER_EXPIRED": (
        _email("order_expired", "Order $order_ref expired",
               "we did not receive the payment for order $order_ref in time, so its items were released."),
    ),
    "DELIVERY_STARTED": (
        _email("delivery_started", "Order $order_ref is being prepared",
               "your order $order_ref is being packed. We will tell you when the courier picks it up."),
    ),
    "DELIVERY_COURIERED_PARTNER": (
        _email("shipped", "Order $order_ref has shipped",
               "your order $order_ref is on its way with $partner. Tracking number: $tracking_number."),
        _sms("shipped", "order $order_ref shipped with $partner, tracking number $tracking_number."),
    ),
    "DELIVERY_COMPLETED": (
        _email("delivered", "Order $order_ref was delivered",
               "your order $order_ref was delivered. Thank you for shopping with us."),
        _sms("delivered", "order $order_ref was delivered."),
    ),
}


def render(template: MessageTemplate, context: dict[str, str]) -> Rendered:
    """Fill a template; a missing value raises KeyError (a bug, never a silent `$x`)."""
    return Rendered(
        template=template.name, channel=template.channel,
        subject=template.subject.substitute(context), body=template.body.substitute(context),
    )
