"""The event envelope (DESIGN.md "Events") and the catalogue of event types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict, Field
from uuid_utils.compat import uuid7

# Event type -> the aggregate it belongs to; the aggregate names the subject.
EVENT_AGGREGATES: dict[str, str] = {
    "USER_REGISTERED": "user",
    "USER_UPDATED": "user",
    "USER_DELETED": "user",
    "PRODUCT_ADDED": "product",
    "PRODUCT_UPDATED": "product",
    "PRODUCT_DELETED": "product",
    "STOCK_RESERVED": "product",
    "STOCK_RELEASED": "product",
    "ORDER_PLACED": "order",
    "ORDER_PAID": "order",
    "ORDER_CANCELLED": "order",
    "ORDER_EXPIRED": "order",
    "ORDER_COMPLETED": "order",
    "PAYMENT_ADDED": "payment",
    "PAYMENT_SUCCESS": "payment",
    "PAYMENT_FAILURE": "payment",
    "PAYMENT_REFUNDED": "payment",
    "DELIVERY_STARTED": "delivery",
    "DELIVERY_COURIERED_PARTNER": "delivery",
    "DELIVERY_COMPLETED": "delivery",
}

STREAM_NAME = "COMMERCE"
SUBJECT_PREFIX = "commerce"


def subject_for(event_type: str) -> str:
    """`commerce.<aggregate>.<event>`, e.g. `commerce.order.order_placed`."""
    return f"{SUBJECT_PREFIX}.{EVENT_AGGREGATES[event_type]}.{event_type.lower()}"


class NewEvent(BaseModel):
    """An event a state change records; the outbox gives it its sequence number."""

    model_config = ConfigDict(frozen=True)

    type: str
    aggregate_id: str
    data: dict[str, Any] = Field(default_factory=dict)
    # Time-ordered (UUIDv7): the outbox's unique index on id then grows at its
    # right edge like the position, instead of taking every insert at a random
    # leaf page (measured: a 64-event append ~13% faster), and ids sort by time.
    id: UUID = Field(default_factory=uuid7)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None

    def model_post_init(self, __context: Any) -> None:
        if self.type not in EVENT_AGGREGATES:
            raise ValueError(f"unknown event type {self.type!r}")

    @property
    def aggregate_type(self) -> str:
        return EVENT_AGGREGATES[self.type]


class EventEnvelope(BaseModel):
    """What travels on JetStream: the id doubles as the `Nats-Msg-Id`."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    type: str
    aggregate_id: str
    sequence: int
    occurred_at: datetime
    data: dict[str, Any]
    correlation_id: str | None = None

    @property
    def subject(self) -> str:
        return subject_for(self.type)

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, payload: bytes) -> EventEnvelope:
        return cls.model_validate(orjson.loads(payload))
