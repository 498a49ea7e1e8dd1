"""Cart bodies: `CartItemAdd` / `CartItemUpdate` in, `CartView` out.

The quantity's upper bound is a setting (`cart_max_quantity`), so it is
checked by the use case (422 `quantity_too_large`), not here; here a
quantity is only a strict integer >= 1 (a float, a string or a bool is a 422)
within the column's range.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from domain.money import Money

# The hard bound is the column's integer range: beyond it a number is no quantity at
# all (and would not even fit the error body's JSON encoder, which stops at 64 bits).
MAX_INT4 = 2**31 - 1
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_INT4, description="1..cart_max_quantity (default 99)")]


class CartItemAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A string, not a UUID: an id that is not a UUID names no product (404, like an unknown one).
    product_id: str = Field(max_length=100)
    quantity: Quantity


class CartItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Quantity


class Total(Money):
    """Money without the per-price cap: a price (<= MAX_AMOUNT) times a quantity, or a sum of those."""

    amount: StrictInt = Field(ge=0)


class CartLine(BaseModel):
    product_id: str
    sku: str
    name: str
    status: Literal["active", "archived"]
    quantity: int
    unit_price: Money = Field(description="The current catalog price.")
    price_when_added: Money
    price_changed: bool
    available: int = Field(description="Current available stock: received - reserved - sold.")
    in_stock: bool = Field(description="Active and available >= quantity.")
    line_total: Total = Field(description="unit_price x quantity.")


class CartView(BaseModel):
    items: list[CartLine]
    subtotal: Total | None = Field(
        description="Sum of the line totals of active lines priced in the cart's currency; null when empty."
    )
    item_count: int = Field(description="Units in the cart: the sum of the quantities of all lines.")
