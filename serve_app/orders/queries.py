"""Reading orders: who may see which, and cursor pages (newest first)."""

from __future__ import annotations


from actors.orders.entity import state_from_rows
from domain.errors import NotFound
from domain.ids import uuid_or_none
from serve_app.identity.tokens import Principal
from serve_app.pagination import aware_datetime, decode_cursor, encode_cursor, split_page, uuid_id
from serve_app.services import Services
from storage import orders as sql

CURSOR_SCOPE = "orders"


async def get_order(services: Services, principal: Principal, order_id: str) -> dict:
    """The order if the caller owns it or is an admin; otherwise 404 (never 403)."""
    if uuid_or_none(order_id) is None:
        raise NotFound("No such order.", code="order_not_found")
    async with services.pool.connection() as conn:
        loaded = await sql.load_order(conn, order_id)
    if loaded is None or (principal.role != "admin" and str(loaded[0]["user_id"]) != principal.user_id):
        raise NotFound("No such order.", code="order_not_found")
    return state_from_rows(*loaded).public()


async def list_orders(services: Services, principal: Principal, *, cursor: str | None, limit: int) -> dict:
    """Shoppers: their own. Sellers: orders holding their products, their lines only. Admins: all."""
    after = decode_cursor(cursor, CURSOR_SCOPE, (aware_datetime, uuid_id)) if cursor else None
    user_id = principal.user_id if principal.role == "shopper" else None
    seller_id = principal.user_id if principal.role == "seller" else None
    async with services.pool.connection() as conn:
        rows = await sql.page_orders(conn, user_id=user_id, seller_id=seller_id, after=after, limit=limit + 1)
        page, last = split_page(rows, limit)
        lines = await sql.load_lines(conn, [row["id"] for row in page], seller_id=seller_id)
    by_order: dict = {}
    for line in lines:
        by_order.setdefault(line["order_id"], []).append(line)
    items = []
    for row in page:
        view = state_from_rows(row, by_order.get(row["id"], [])).public()
        if seller_id:  # a seller sees their own lines, not the shopper's whole basket
            view.pop("totals")
            view.pop("shipping_address")
        items.append(view)
    next_cursor = last and encode_cursor(CURSOR_SCOPE, [last["created_at"].isoformat(), str(last["id"])])
    return {"items": items, "next_cursor": next_cursor}
