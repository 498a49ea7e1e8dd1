"""Checkout: prices from the catalog, then all-or-nothing reservation via actors.

1. Lines come from the request or the cart; prices, names and sellers from
   the catalog (never from the client); totals with the flat shipping rule.
2. With an `Idempotency-Key`, the order id is derived from (shopper, key):
   a repeat with the same body resumes or returns that order, another body
   is a 409 (the OrderActor compares the request's hash).
3. Explicit items of ONE product (a flash sale's checkout): the product's
   actor reserves and places the order in one step and one commit
   (`actors/orders/place.py`), unless the order exists already.
4. Otherwise (several products, the cart, or a retry of an existing order):
   the OrderActor opens the order (PENDING, durable), the lines are reserved
   through the ProductActors (`actors/orders/process.py`), and the OrderActor
   records the outcome. If this replica dies in between, the OrderActor's
   re-drive timer finishes the job: no hold is leaked. A retry reaches the
   OrderActor, which answers from the order, whichever path placed it.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import orjson

from actors.orders import process
from actors.orders.entity import state_from_rows
from actors.orders.model import Line, Open, Totals, lines_from_public
from actors.orders.place import OrderExists, PlaceOrder
from domain.errors import Conflict, InvalidInput, NotFound, RateLimited
from domain.ids import uuid5_str, uuid_or_none
from serve_app.identity.tokens import Principal, Role
from serve_app.orders.schemas import CheckoutRequest
from serve_app.orders.soldout import SoldOutMemory
from serve_app.services import Services
from storage import cart as cart_sql
from storage import identity_addresses
from storage import inventory as inventory_sql
from storage import orders as sql
from storage.pool import reading

log = logging.getLogger(__name__)

# Where and who may check out (the route and the sold-out gate both use these).
CHECKOUT_PATH = "/api/orders"
CHECKOUT_ROLES: tuple[Role, ...] = ("shopper",)
ORDER_KEY_NAMESPACE = uuid.UUID("6f1d3c1e-5a43-4d67-9d0e-8c2b7f4a9e10")
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")


def request_hash(body: CheckoutRequest) -> str:
    return hashlib.sha256(orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()


def shipping_for(settings, subtotal: int) -> int:
    free_over = settings.shipping_free_over_amount
    return 0 if free_over is not None and subtotal >= free_over else settings.shipping_flat_amount


async def _cart_quantities(conn, principal: Principal) -> dict[str, int]:
    pairs = [(row["product_id"], row["quantity"]) for row in await cart_sql.cart_lines(conn, principal.user_id)]
    if not pairs:
        raise InvalidInput("The cart is empty: add items or send `items`.", code="empty_cart")
    return merge_items(pairs)


def merge_items(pairs) -> dict[str, int]:
    """Quantities by normalized product id; an id that is not a UUID is an unknown product."""
    quantities: dict[str, int] = {}
    unknown = []
    for product_id, quantity in pairs:
        normalized = uuid_or_none(str(product_id))
        if normalized is None:
            unknown.append(str(product_id))
            continue
        quantities[normalized] = quantities.get(normalized, 0) + quantity
    if unknown:
        raise NotFound("Unknown products.", code="product_not_found", details={"product_ids": unknown})
    return quantities


async def _priced_lines(
    conn, quantities: dict[str, int], max_quantity: int, order_id: str,
) -> tuple[tuple[Line, ...], str, bool]:
    """The lines priced from the catalog, their currency, and whether the order exists already."""
    products, order_exists = await sql.checkout_facts(conn, list(quantities), order_id)
    missing = [pid for pid in quantities if pid not in products]
    if missing:
        raise NotFound("Unknown products.", code="product_not_found", details={"product_ids": missing})
    archived = [pid for pid in quantities if products[pid]["status"] != "active"]
    if archived:
        raise Conflict("Some products are no longer sold.", code="product_archived", details={"product_ids": archived})
    too_many = [pid for pid, q in quantities.items() if q > max_quantity]
    if too_many:
        raise InvalidInput(f"At most {max_quantity} of a product per order.", code="quantity_too_large",
                           details={"product_ids": too_many, "max": max_quantity})
    currencies = {products[pid]["price_currency"].strip() for pid in quantities}
    if len(currencies) != 1:
        raise Conflict("All items of an order must share one currency.", code="currency_mismatch",
                       details={"currencies": sorted(currencies)})
    lines = tuple(
        Line(pid, str(products[pid]["seller_id"]), products[pid]["sku"], products[pid]["name"], quantity,
             products[pid]["price_amount"])
        for pid, quantity in quantities.items()
    )
    return lines, currencies.pop(), order_exists


async def _shipping_address(conn, principal: Principal, body: CheckoutRequest) -> dict | None:
    if body.shipping_address is not None:
        return body.shipping_address.model_dump()
    if body.shipping_address_id is None:
        return None
    address_id = uuid_or_none(body.shipping_address_id)
    row = address_id and await identity_addresses.get(conn, uuid.UUID(principal.user_id), uuid.UUID(address_id))
    if not row:
        raise NotFound("No such address.", code="address_not_found")
    return {field: (row[field].strip() if field == "country" else row[field]) for field in ADDRESS_FIELDS}


# Refusals that say more than "out of stock"; the first one found names the 409.
SALE_REFUSALS = {
    "sale_not_active": "This product is only sold during its sale; nothing was reserved.",
    "purchase_limit_exceeded": "This exceeds the sale's per-shopper limit; nothing was reserved.",
}


def _outcome(view: dict) -> tuple[int, dict]:
    if view["status"] == "REJECTED":
        details = {"items": view["short_items"], "order_id": view["id"]}
        if any(item.get("reason") == "busy" for item in view["short_items"]):
            raise RateLimited("Too many checkouts are waiting for this item; retry shortly.", code="busy",
                              retry_after_s=1, details=details)
        for item in view["short_items"]:
            if item.get("reason") in SALE_REFUSALS:
                raise Conflict(SALE_REFUSALS[item["reason"]], code=item["reason"], details=details)
        raise Conflict("Some items are out of stock; nothing was reserved.", code="out_of_stock", details=details)
    return 201, view


def keyed_order_id(principal: Principal, idempotency_key: str | None) -> str | None:
    """The order a keyed checkout is (or would be); None without a key: a new order."""
    return order_id_for(principal, idempotency_key) if idempotency_key is not None else None


def order_id_for(principal: Principal, idempotency_key: str | None) -> str:
    """With a key, the order's id is derived from the shopper and the key, so every
    retry reaches the same OrderActor, which answers it from the order itself."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return uuid5_str(ORDER_KEY_NAMESPACE, f"{principal.user_id}:{idempotency_key}")


async def place_order(
    services: Services, principal: Principal, body: CheckoutRequest, idempotency_key: str | None,
) -> tuple[int, dict]:
    order_id = order_id_for(principal, idempotency_key)
    quantities = None  # from the cart, read in _place
    if body.items is not None:  # fast refusal first: no connection, no actor
        quantities = merge_items([(item.product_id, item.quantity) for item in body.items])
        keyed = order_id if idempotency_key is not None else None
        if refusal := refusal_if_sold_out(services.sold_out, quantities, keyed):
            raise refusal
    with services.sold_out.probe(quantities or ()):
        return await _place(services, principal, body, idempotency_key, quantities, order_id)


def refusal_if_sold_out(sold_out: SoldOutMemory, quantities: Mapping[str, int], order_id: str | None) -> Conflict | None:
    """The 409 for products this replica remembers as sold out, if any (see soldout.py);
    none for the retry of an order that holds them (`order_id`: the keyed order's id)."""
    if gone := sold_out.sold_out(quantities, order_id):
        return Conflict("Some items are out of stock; nothing was reserved.", code="out_of_stock",
                        details={"items": [{"product_id": pid, "requested": quantities[pid], "available": 0,
                                            "reason": "out_of_stock"} for pid in gone]})
    return None


async def _place(
    services: Services, principal: Principal, body: CheckoutRequest, idempotency_key: str | None,
    quantities: dict[str, int] | None, order_id: str,
) -> tuple[int, dict]:
    settings = services.settings
    async with reading(services.pool) as conn:
        if quantities is None:
            quantities = await _cart_quantities(conn, principal)
        lines, currency, order_exists = await _priced_lines(conn, quantities, settings.cart_max_quantity, order_id)
        address = await _shipping_address(conn, principal, body)

    subtotal = sum(line.total for line in lines)
    shipping = shipping_for(settings, subtotal)
    totals = Totals(currency, subtotal, shipping, subtotal + shipping)
    digest = request_hash(body) if idempotency_key else None
    opening = Open(principal.user_id, lines, totals, address, datetime.now(UTC), digest)
    hold_ttl = timedelta(seconds=settings.order_hold_ttl_s)
    actors = services.actors
    # One product, asked for explicitly: its actor places the order in one step.
    # (Only explicit items: the same body must always take the same path.)
    if body.items is not None and len(lines) == 1 and not order_exists:
        placed = await actors.ask("product", lines[0].product_id, PlaceOrder(order_id, opening, opening.now + hold_ttl))
        if not isinstance(placed, OrderExists):
            return await _settled(services, placed)
    opened = await actors.ask("order", order_id, opening)
    if opened["status"] != "PENDING":
        return _outcome(opened)  # a retry: the first answer, again
    lines = lines_from_public(opened)  # a resumed checkout keeps the first request's lines
    decision = await process.reserve_order(actors, order_id, lines, hold_ttl, principal.user_id)
    try:
        view = await actors.ask("order", order_id, decision)
    except Conflict as exc:  # the re-drive decided first; report what it decided
        if exc.code != "illegal_transition":
            raise
        async with services.pool.connection() as conn:
            view = state_from_rows(*await sql.load_order(conn, order_id)).public()
    if view["status"] != "REJECTED" and body.items is None:
        async with services.pool.connection() as conn:
            await cart_sql.clear_cart(conn, principal.user_id)
            await conn.commit()
    return await _settled(services, view)


async def _settled(services: Services, view: dict) -> tuple[int, dict]:
    """The answer for a decided order; a product it found sold out is remembered."""
    for item in view["short_items"]:
        if item.get("reason") == "out_of_stock" and item.get("available") == 0:
            await _remember_sold_out(services, item["product_id"])
    return _outcome(view)


async def _remember_sold_out(services: Services, product_id: str) -> None:
    """Refuse new orders for it at once; read its holders once (the first of the many
    refusals that arrive together), so that their retries still reach their orders."""
    memory = services.sold_out
    if memory.remembers(product_id):
        memory.remember(product_id)
        return
    memory.remember(product_id)
    try:
        async with reading(services.pool) as conn:
            memory.holders_known(product_id, await inventory_sql.reservation_holders(conn, product_id))
    except Exception as exc:  # the checkout's own answer stands; unknown holders refuse only unkeyed checkouts
        log.warning("could not read the holders of sold-out product %s: %r", product_id, exc)
