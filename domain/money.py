"""Money: an integer count of minor units plus an ISO 4217 currency. Never a float."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt

# Keeps totals far inside PostgreSQL's bigint and JSON's exact-integer range.
MAX_AMOUNT = 10**12


class Money(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: StrictInt = Field(ge=0, le=MAX_AMOUNT)
    currency: str = Field(pattern=r"^[A-Z]{3}$")

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def times(self, quantity: int) -> Money:
        return Money(amount=self.amount * quantity, currency=self.currency)
