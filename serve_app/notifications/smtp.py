"""Email over SMTP with the standard library, in a worker thread.

TLS modes: `none` (plain, e.g. a local relay), `starttls` (upgrade on the
submission port, 587) and `tls` (implicit TLS, 465). The Message-ID is made
from the notification id, so if a crash makes the dispatcher send a mail a
second time, both copies carry the same Message-ID and mail clients can
tell them apart from two different mails.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Literal

from serve_app.notifications.transport import DeliveryFailed, Outgoing

TIMEOUT_S = 15.0


class SmtpSender:
    provider = "smtp"

    def __init__(
        self, host: str, port: int, *, tls: Literal["none", "starttls", "tls"], from_address: str,
        username: str | None = None, password: str | None = None, ssl_context: ssl.SSLContext | None = None,
    ):
        self._host, self._port, self._tls = host, port, tls
        self._from = from_address
        self._login = (username, password) if username is not None else None
        self._ssl = ssl_context or ssl.create_default_context()
        self._domain = parseaddr(from_address)[1].rpartition("@")[2] or "localhost"

    def message_id(self, notification_id: str) -> str:
        return f"<{notification_id}@{self._domain}>"

    def compose(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self._from
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = self.message_id(message.id)
        mail.set_content(message.body)
        return mail

    async def send(self, message: Outgoing) -> str:
        mail = self.compose(message)
        await asyncio.to_thread(self._send_blocking, mail)
        return mail["Message-ID"]

    def _send_blocking(self, mail: EmailMessage) -> None:
        try:
            if self._tls == "tls":
                client = smtplib.SMTP_SSL(self._host, self._port, timeout=TIMEOUT_S, context=self._ssl)
            else:
                client = smtplib.SMTP(self._host, self._port, timeout=TIMEOUT_S)
            with client:
                if self._tls == "starttls":
                    client.starttls(context=self._ssl)
                if self._login:
                    client.login(*self._login)
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(f"recipient refused: {codes}", permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPDataError as exc:
            raise DeliveryFailed(f"message refused: {exc.smtp_code}", permanent=exc.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            # Connection trouble, auth or sender problems: fixable by ops, so retried.
            raise DeliveryFailed(f"smtp: {exc!r}"[:500], permanent=False) from None

    async def close(self) -> None:
        pass
