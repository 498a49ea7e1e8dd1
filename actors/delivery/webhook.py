"""The courier partner's report and its signature (pure: stdlib and pydantic).

The partner signs every request like Stripe does: header
`Courier-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw body>`
with the shared `COMMERCE_COURIER_WEBHOOK_SECRET`. Several `v1=` entries
may be sent while a secret is rotated. A timestamp more than
`TOLERANCE_S` away from our clock is refused, so a captured request cannot
be replayed later; within the window, the report's `event_id` makes a replay
a no-op.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.errors import Unauthenticated

SIGNATURE_HEADER = "Courier-Signature"
TOLERANCE_S = 300
MAX_BODY_BYTES = 16 * 1024


class InvalidSignature(Unauthenticated):
    code = "invalid_signature"


def sign(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(body: bytes, header: str | None, secret: str, *, now: float, tolerance_s: int = TOLERANCE_S) -> None:
    """Raise InvalidSignature unless `header` signs `body` with `secret`, recently."""
    if not header:
        raise InvalidSignature(f"Sign the request: send `{SIGNATURE_HEADER}`.")
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidSignature("The signature header is malformed.")
    if abs(now - timestamp) > tolerance_s:
        raise InvalidSignature("The signature timestamp is too old or in the future.")
    expected = sign(body, secret, timestamp).rpartition("v1=")[2]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise InvalidSignature("The signature does not match.")


class CourierReport(BaseModel):
    """`{shipment_id | tracking_number, status, event_id}`; the first names the shipment."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
    status: Literal["picked_up", "delivered"]
    shipment_id: uuid.UUID | None = None
    tracking_number: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    partner: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _names_a_shipment(self) -> CourierReport:
        if self.shipment_id is None and self.tracking_number is None:
            raise ValueError("give shipment_id or tracking_number")
        return self
