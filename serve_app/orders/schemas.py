"""Request shapes for checkout; responses are the OrderActor's public view."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from serve_app.identity.schemas import AddressCreate

MAX_LINES = 100


class CheckoutItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=64)
    quantity: StrictInt = Field(ge=1)


class CheckoutRequest(BaseModel):
    """Without `items`, the shopper's cart is checked out."""

    model_config = ConfigDict(extra="forbid")

    items: list[CheckoutItem] | None = Field(default=None, min_length=1, max_length=MAX_LINES)
    shipping_address_id: str | None = Field(default=None, max_length=64)
    shipping_address: AddressCreate | None = None

    @model_validator(mode="after")
    def _one_address(self) -> CheckoutRequest:
        if self.shipping_address_id and self.shipping_address:
            raise ValueError("give shipping_address_id or shipping_address, not both")
        return self


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)
