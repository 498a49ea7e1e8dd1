"""The sending port every channel implements, and the log sink.

A sender returns the provider's reference for the message once the provider
has ACCEPTED it (SMTP 250, Twilio 201). Failures are `DeliveryFailed`:
`permanent` ones (a refused recipient) are not retried.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("commerce.notifications")


@dataclass(frozen=True)
class Outgoing:
    id: str  # the notification's id: stable across retries (Message-ID)
    recipient: str  # an email address or a phone number
    subject: str
    body: str


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


class Sender(Protocol):
    provider: str

    async def send(self, message: Outgoing) -> str:
        """Hand the message to the provider; return its reference, or raise DeliveryFailed."""

    async def close(self) -> None: ...


class LogSink:
    """The embedded default: the message goes to the JSON log instead of a provider."""

    provider = "log"

    def __init__(self, channel: str):
        self._channel = channel

    async def send(self, message: Outgoing) -> str:
        log.info("notification %s (%s) to %s: %s\n%s", message.id, self._channel, message.recipient,
                 message.subject, message.body)
        return f"log:{message.id}"

    async def close(self) -> None:
        pass
