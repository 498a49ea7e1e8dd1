"""The cart's rules, pure: no I/O, so unit tests drive them directly.

The cart's currency is the currency its lines were added in (all the same,
since adds are checked under a per-cart lock). Should a product's price later
move to another currency, its line stays (price_changed) but is left out of
the subtotal, which is only ever in the cart's currency.
"""

from __future__ import annotations

from domain.errors import Conflict, InvalidInput
from domain.money import Money
from serve_app.cart.schemas import CartLine, CartView, Total


def quantity_too_large(quantity: int, max_quantity: int) -> InvalidInput:
    return InvalidInput(
        f"A cart line holds at most {max_quantity} units.", code="quantity_too_large",
        details={"max_quantity": max_quantity, "quantity": quantity},
    )


def ensure_quantity(quantity: int, max_quantity: int) -> None:
    """A line holds at most `max_quantity` units (a request alone, or a line after an add)."""
    if quantity > max_quantity:
        raise quantity_too_large(quantity, max_quantity)


def ensure_active(status: str) -> None:
    """Only active products are added or topped up; an archived line can only be removed."""
    if status != "active":
        raise Conflict("This product is archived: it cannot be bought.", code="product_archived")


def ensure_addable(status: str, currency: str, cart_currency: str | None) -> None:
    ensure_active(status)
    if cart_currency is not None and currency != cart_currency:
        raise Conflict(
            f"The cart is priced in {cart_currency}; this product is priced in {currency}.",
            code="currency_mismatch", details={"cart_currency": cart_currency, "product_currency": currency},
        )


def line_from_row(row: dict) -> CartLine:
    unit_price = Money(amount=row["price_amount"], currency=row["price_currency"])
    when_added = Money(amount=row["price_when_added_amount"], currency=row["price_when_added_currency"])
    active = row["status"] == "active"
    return CartLine(
        product_id=row["product_id"], sku=row["sku"], name=row["name"], status=row["status"],
        quantity=row["quantity"], unit_price=unit_price, price_when_added=when_added,
        price_changed=unit_price != when_added, available=row["available"],
        in_stock=active and row["available"] >= row["quantity"],
        line_total=Total(amount=unit_price.amount * row["quantity"], currency=unit_price.currency),
    )


def build_view(rows: list[dict]) -> CartView:
    """The cart as shown: lines in the order added, subtotal over the lines one can buy."""
    lines = [line_from_row(row) for row in rows]
    if not lines:
        return CartView(items=[], subtotal=None, item_count=0)
    currency = lines[0].price_when_added.currency
    amount = sum(
        line.line_total.amount for line in lines
        if line.status == "active" and line.line_total.currency == currency
    )
    return CartView(
        items=lines, subtotal=Total(amount=amount, currency=currency),
        item_count=sum(line.quantity for line in lines),
    )
