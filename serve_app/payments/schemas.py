"""Request and response shapes of the payments API (API.md "Payments")."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from domain.money import Money

# Stripe ids look like `pm_card_visa`, `pm_1Nv...`, `card_...`, `src_...`.
PAYMENT_METHOD_PATTERN = r"^(pm|card|src|tok)_[A-Za-z0-9_]{1,250}$"
MAX_WAIT_S = 10.0


class PaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=64)
    payment_method: str = Field(pattern=PAYMENT_METHOD_PATTERN, description="A Stripe PaymentMethod id, e.g. pm_card_visa")


class RefundCreate(BaseModel):
    """Without `amount`, everything captured and not yet refunded is refunded."""

    model_config = ConfigDict(extra="forbid")

    amount: StrictInt | Money | None = Field(
        default=None, description="Minor units in the payment's currency, or Money in that currency")

    def minor_units(self, currency: str) -> int | None:
        """The requested amount; Money in another currency is a ValueError."""
        if isinstance(self.amount, Money):
            if self.amount.currency != currency:
                raise ValueError(self.amount.currency)
            return self.amount.amount
        return self.amount


class Amount(BaseModel):
    """Money in a response: an order's total may exceed the single-price cap of `Money`."""

    amount: int
    currency: str


class RefundPublic(BaseModel):
    id: str
    amount: Amount
    status: str  # pending | succeeded
    reason: str
    created_at: datetime
    completed_at: datetime | None = None


class PaymentPublic(BaseModel):
    id: str
    order_id: str
    status: str  # processing | succeeded | failed | partially_refunded | refunded
    amount: Amount
    refunded: Amount
    provider: str
    payment_method: str
    failure_reason: str | None = None
    created_at: datetime
    updated_at: datetime
    refunds: list[RefundPublic] | None = Field(default=None, description="Only on a single payment")


class PaymentPage(BaseModel):
    items: list[PaymentPublic]
    next_cursor: str | None = None


__all__ = ["MAX_WAIT_S", "PaymentCreate", "PaymentPage", "PaymentPublic", "RefundCreate", "RefundPublic"]
