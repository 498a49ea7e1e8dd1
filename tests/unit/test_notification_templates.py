"""Templates render every event's messages; money is formatted from integers."""

from __future__ import annotations

from datetime import UTC, datetime
from string import Template

import pytest

from actors.notifications.plan import OrderFacts, Recipient, context_for
from serve_app.notifications.templates import TEMPLATES, MessageTemplate, format_money, render

RECIPIENT = Recipient("u-1", "Ada", "ada@example.test", "+15550100", True, True)
ORDER = OrderFacts("0f3c9a1e-aaaa-bbbb-cccc-000000000001", 2999, "USD", 3, datetime(2030, 1, 2, 3, 4, tzinfo=UTC))


@pytest.mark.parametrize("event_type", sorted(TEMPLATES))
def test_every_template_renders_from_the_context_its_event_gets(event_type):
    order = None if event_type == "USER_REGISTERED" else ORDER
    data = {"partner": "SimCourier", "tracking_number": "SIM123", "reason": "changed my mind", "refund": True}
    for template in TEMPLATES[event_type]:
        rendered = render(template, context_for(event_type, data, RECIPIENT, order))
        assert "$" not in rendered.subject + rendered.body
        assert rendered.body.strip()
        if template.channel == "email":
            assert rendered.subject and rendered.body.startswith("Hello Ada,")
        if order is not None:
            assert "0F3C9A1E" in rendered.subject + rendered.body


def test_order_placed_mail_names_the_total_items_and_hold():
    (template,) = TEMPLATES["ORDER_PLACED"]
    rendered = render(template, context_for("ORDER_PLACED", {}, RECIPIENT, ORDER))
    assert rendered.subject == "We received your order 0F3C9A1E"
    assert "3 item(s), 29.99 USD in all" in rendered.body
    assert "2030-01-02 03:04 UTC" in rendered.body


def test_shipped_sms_names_partner_and_tracking_number():
    sms = next(t for t in TEMPLATES["DELIVERY_COURIERED_PARTNER"] if t.channel == "sms")
    rendered = render(sms, context_for("DELIVERY_COURIERED_PARTNER",
                                       {"partner": "SimCourier", "tracking_number": "SIMABC"}, RECIPIENT, ORDER))
    assert rendered.body == "Commerce: order 0F3C9A1E shipped with SimCourier, tracking number SIMABC."


def test_a_cancellation_mentions_the_refund_only_when_there_is_one():
    (template,) = TEMPLATES["ORDER_CANCELLED"]
    refunded = render(template, context_for("ORDER_CANCELLED", {"reason": "x", "refund": True}, RECIPIENT, ORDER))
    kept = render(template, context_for("ORDER_CANCELLED", {"reason": "x", "refund": False}, RECIPIENT, ORDER))
    assert "refunded" in refunded.body and "refunded" not in kept.body


def test_a_template_naming_an_unknown_value_fails_loudly():
    broken = MessageTemplate("broken", "email", Template("Hi $nobody"), Template("x"))
    with pytest.raises(KeyError):
        render(broken, context_for("ORDER_PLACED", {}, RECIPIENT, ORDER))


@pytest.mark.parametrize("amount,currency,text", [
    (1250, "USD", "12.50 USD"), (5, "EUR", "0.05 EUR"), (0, "GBP", "0.00 GBP"),
    (1500, "JPY", "1500 JPY"), (12345, "KWD", "12.345 KWD"),
])
def test_money_is_formatted_by_the_currency_exponent(amount, currency, text):
    assert format_money(amount, currency) == text


def test_payment_mails_name_the_payment_amount_and_the_failure_reason():
    (received,) = TEMPLATES["PAYMENT_SUCCESS"]
    data = {"payment_id": "p-1", "amount": {"amount": 1000, "currency": "USD"}, "reason": None}
    assert "payment of 10.00 USD" in render(received, context_for("PAYMENT_SUCCESS", data, RECIPIENT, ORDER)).body
    failed = TEMPLATES["PAYMENT_FAILURE"][0]
    data = {"payment_id": "p-1", "reason": "card_declined"}
    assert "(card_declined)" in render(failed, context_for("PAYMENT_FAILURE", data, RECIPIENT, ORDER)).body
