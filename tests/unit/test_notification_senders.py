"""The SMS port's Twilio adapter against a fake transport; the mail the SMTP sender composes."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest

from serve_app.notifications.sms import TwilioSms
from serve_app.notifications.smtp import SmtpSender
from serve_app.notifications.transport import DeliveryFailed, LogSink, Outgoing
from serve_app.notifications.wiring import senders_from_settings
from config import Settings

MESSAGE = Outgoing(id="5b1e0d2c-0000-4000-8000-000000000001", recipient="+15550100", subject="", body="Hi")


def twilio(handler) -> TwilioSms:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return TwilioSms("AC123", "token-xyz", "+15550199", client=client, base_url="https://twilio.test")


async def test_twilio_posts_the_message_form_with_basic_auth():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": "SM42"})

    assert await twilio(handler).send(MESSAGE) == "SM42"
    (request,) = seen
    assert request.url == "https://twilio.test/Accounts/AC123/Messages.json"
    assert request.headers["Authorization"] == httpx.BasicAuth("AC123", "token-xyz")._auth_header
    assert parse_qs(request.content.decode()) == {"To": ["+15550100"], "From": ["+15550199"], "Body": ["Hi"]}


@pytest.mark.parametrize("status,permanent", [(400, True), (404, True), (429, False), (500, False), (503, False)])
async def test_twilio_refusals_are_permanent_only_for_client_errors(status, permanent):
    sender = twilio(lambda request: httpx.Response(status, json={"message": "nope"}))
    with pytest.raises(DeliveryFailed) as failed:
        await sender.send(MESSAGE)
    assert failed.value.permanent is permanent


async def test_twilio_unreachable_is_transient():
    def handler(request):
        raise httpx.ConnectError("down", request=request)

    with pytest.raises(DeliveryFailed) as failed:
        await twilio(handler).send(MESSAGE)
    assert failed.value.permanent is False


def test_the_mail_carries_a_message_id_made_from_the_notification():
    sender = SmtpSender("smtp.test", 25, tls="none", from_address="Shop <no-reply@shop.test>")
    mail = sender.compose(Outgoing(id="n-1", recipient="ada@example.test", subject="Hello", body="Body"))
    assert mail["Message-ID"] == "<n-1@shop.test>"
    assert (mail["From"], mail["To"], mail["Subject"]) == ("Shop <no-reply@shop.test>", "ada@example.test", "Hello")
    assert mail.get_content().strip() == "Body"


def test_without_provider_settings_both_channels_go_to_the_log():
    senders = senders_from_settings(Settings(_env_file=None))
    assert all(isinstance(s, LogSink) for s in senders.values())
    configured = senders_from_settings(Settings(
        _env_file=None, smtp_host="mail.test", twilio_account_sid="AC1", twilio_auth_token="t",
        twilio_from_number="+1555"))
    assert (configured["email"].provider, configured["sms"].provider) == ("smtp", "twilio")
