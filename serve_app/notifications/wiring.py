"""Settings -> one sender per channel (log sinks unless a provider is configured)."""

from __future__ import annotations

from config import Settings
from serve_app.notifications.sms import TwilioSms
from serve_app.notifications.smtp import SmtpSender
from serve_app.notifications.transport import LogSink, Sender


def senders_from_settings(settings: Settings) -> dict[str, Sender]:
    email: Sender = LogSink("email")
    if settings.smtp_host:
        email = SmtpSender(
            settings.smtp_host, settings.smtp_port, tls=settings.smtp_tls, from_address=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        )
    sms: Sender = LogSink("sms")
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number:
        sms = TwilioSms(settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(),
                        settings.twilio_from_number)
    return {"email": email, "sms": sms}
