"""Which messages an event makes: channels, opt-outs, missing addresses, retries."""

from __future__ import annotations

from actors.notifications.plan import OrderFacts, Recipient, RetryPolicy, plan

ORDER = OrderFacts("1234abcd-0000-0000-0000-000000000000", 1000, "USD", 1, None)


def recipient(*, phone="+15550100", email_opt_in=True, sms_opt_in=True) -> Recipient:
    return Recipient("u-1", "Ada", "ada@example.test", phone, email_opt_in, sms_opt_in)


def test_a_shipping_update_goes_by_email_and_sms():
    planned = plan("DELIVERY_COURIERED_PARTNER", {}, recipient(), ORDER)
    assert [(p.message.channel, p.recipient, p.status) for p in planned] == [
        ("email", "ada@example.test", "pending"), ("sms", "+15550100", "pending")]


def test_an_opted_out_channel_is_stored_as_skipped():
    planned = plan("DELIVERY_COMPLETED", {}, recipient(email_opt_in=False), ORDER)
    assert [(p.message.channel, p.status, p.skip_reason) for p in planned] == [
        ("email", "skipped", "opted_out"), ("sms", "pending", None)]
    planned = plan("DELIVERY_COMPLETED", {}, recipient(sms_opt_in=False), ORDER)
    assert [(p.message.channel, p.status) for p in planned] == [("email", "pending"), ("sms", "skipped")]


def test_no_phone_number_means_no_sms_at_all():
    planned = plan("PAYMENT_FAILURE", {}, recipient(phone=None), ORDER)
    assert [p.message.channel for p in planned] == ["email"]


def test_events_without_templates_make_nothing():
    assert plan("STOCK_RESERVED", {}, recipient(), ORDER) == []


def test_welcome_mail_needs_no_order():
    (welcome,) = plan("USER_REGISTERED", {}, recipient(), None)
    assert welcome.message.template == "welcome" and welcome.message.subject == "Welcome to Commerce, Ada"


def test_retries_back_off_then_give_up():
    policy = RetryPolicy(max_attempts=4, first_delay_s=5, max_delay_s=15)
    assert [policy.delay_after(n) for n in (1, 2, 3, 4)] == [5, 10, 15, None]
