"""SQL for orders. Only the OrderActor writes `orders` rows (epoch- and
version-checked); the API reads them."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from storage.fencing import fenced_or_stale
from storage.records import json_rows

ORDER_COLUMNS = """o.id, o.user_id, o.status, o.stock_state, o.currency, o.subtotal_amount, o.shipping_amount,
    o.total_amount, o.shipping_address, o.expires_at, o.short_items, o.cancel_reason, o.refund_requested,
    o.applied_refs, o.request_hash, o.version, o.created_at"""


async def load_order(conn: AsyncConnection, order_id: str) -> tuple[dict, list[dict]] | None:
    row = await (await conn.execute(f"SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = %s", (order_id,))).fetchone()
    if row is None:
        return None
    return row, await load_lines(conn, [order_id])


async def load_lines(conn: AsyncConnection, order_ids: list, seller_id: str | None = None) -> list[dict]:
    seller_clause = "AND seller_id = %s" if seller_id else ""
    params = [order_ids] + ([seller_id] if seller_id else [])
    return await (await conn.execute(
        f"""SELECT order_id, line_no, product_id, seller_id, sku, name, quantity, unit_price_amount
              FROM order_lines WHERE order_id = ANY(%s) {seller_clause} ORDER BY order_id, line_no""",
        params,
    )).fetchall()


# New orders and their lines in one statement, only if the writer's epoch is
# current; an id that exists already is skipped (the caller sees which).
_INSERT_ORDERS = """
    WITH o AS (
        INSERT INTO orders (id, user_id, status, stock_state, currency, subtotal_amount, shipping_amount,
                            total_amount, shipping_address, expires_at, short_items, request_hash, version,
                            created_at)
        SELECT id, user_id, status, stock_state, currency, subtotal, shipping, total, address, expires_at,
               coalesce(short_items, '[]'::jsonb), request_hash, version, created_at
          FROM json_to_recordset(%(orders)s::json) AS r(
               id uuid, user_id uuid, status text, stock_state text, currency text, subtotal bigint,
               shipping bigint, total bigint, address jsonb, expires_at timestamptz, short_items jsonb,
               request_hash text, version bigint, created_at timestamptz)
         WHERE (SELECT epoch FROM shard_epochs WHERE shard_id = %(shard_id)s) = %(epoch)s
        ON CONFLICT (id) DO NOTHING
        RETURNING id),
    l AS (
        INSERT INTO order_lines (order_id, line_no, product_id, seller_id, sku, name, quantity, unit_price_amount)
        SELECT l.order_id, l.line_no, l.product_id, l.seller_id, l.sku, l.name, l.quantity, l.unit_price
          FROM json_to_recordset(%(lines)s::json) AS l(
               order_id uuid, line_no int, product_id uuid, seller_id uuid, sku text, name text, quantity int,
               unit_price bigint)
         WHERE l.order_id IN (SELECT id FROM o))
    SELECT id::text FROM o"""


async def insert_orders(conn: AsyncConnection, orders: list[dict], *, shard_id: int, epoch: int) -> set[str]:
    """Insert new orders (each with its `lines`) if our epoch is current; return the
    ids inserted. An id missing from the result existed already, or we are fenced
    (`fenced_or_stale` tells)."""
    lines = [{**line, "order_id": order["id"], "line_no": n}
             for order in orders for n, line in enumerate(order["lines"], start=1)]
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(_INSERT_ORDERS, {
            "orders": json_rows([{k: v for k, v in order.items() if k != "lines"} for order in orders]),
            "lines": json_rows(lines), "shard_id": shard_id, "epoch": epoch,
        })
        return {row[0] for row in await cur.fetchall()}


async def insert_order(conn: AsyncConnection, order: dict, *, shard_id: int, epoch: int) -> str | None:
    """Insert one new order; None on success, else "fenced" or "stale" (the id exists)."""
    if await insert_orders(conn, [order], shard_id=shard_id, epoch=epoch):
        return None
    return await fenced_or_stale(conn, shard_id, epoch)


async def update_order(conn: AsyncConnection, changes: dict, *, expected_version: int, shard_id: int, epoch: int) -> str | None:
    """Write the order's mutable fields; None on success, else "fenced" or "stale"."""
    cur = await conn.execute(
        """UPDATE orders SET status = %(status)s, stock_state = %(stock_state)s, expires_at = %(expires_at)s,
                  created_at = %(created_at)s,
                  short_items = %(short_items)s, cancel_reason = %(cancel_reason)s,
                  refund_requested = %(refund_requested)s, applied_refs = %(applied_refs)s,
                  version = %(version)s, updated_at = now()
            WHERE id = %(id)s AND version = %(expected_version)s
              AND (SELECT epoch FROM shard_epochs WHERE shard_id = %(shard_id)s) = %(epoch)s""",
        {**changes, "short_items": Jsonb(changes["short_items"]), "expected_version": expected_version,
         "shard_id": shard_id, "epoch": epoch},
    )
    if cur.rowcount == 1:
        return None
    return await fenced_or_stale(conn, shard_id, epoch)


async def orders_due(conn: AsyncConnection, limit: int = 1000) -> list[str]:
    """Orders whose hold has run out but which are still AWAITING_PAYMENT."""
    rows = await (await conn.execute(
        """SELECT id FROM orders WHERE status = 'AWAITING_PAYMENT' AND expires_at <= now()
            ORDER BY expires_at LIMIT %s""",
        (limit,),
    )).fetchall()
    return [str(row["id"]) for row in rows]


async def orders_needing_attention(conn: AsyncConnection) -> list[str]:
    """Unfinished checkouts and stock work. Open holds are not among them: the due
    sweep (`orders_due`) expires them, so a restart after a flash sale does not
    activate every order that is waiting for its payment."""
    rows = await (await conn.execute(
        """SELECT id FROM orders
            WHERE status = 'PENDING' OR stock_state IN ('reserving', 'releasing', 'committing')"""
    )).fetchall()
    return [str(row["id"]) for row in rows]


async def checkout_facts(conn: AsyncConnection, product_ids: list, order_id: str) -> tuple[dict[str, dict], bool]:
    """Current catalog data for the products of a checkout, by id (during a running
    sale the sale price replaces the list price), and whether the order exists."""
    rows = await (await conn.execute(
        """SELECT p.id, p.seller_id, p.sku, p.name, p.status,
                  CASE WHEN s.product_id IS NOT NULL AND now() >= s.starts_at AND now() < s.ends_at
                       THEN s.price_amount ELSE p.price_amount END AS price_amount,
                  CASE WHEN s.product_id IS NOT NULL AND now() >= s.starts_at AND now() < s.ends_at
                       THEN s.currency ELSE p.price_currency END AS price_currency,
                  EXISTS (SELECT 1 FROM orders WHERE id = %s) AS order_exists
             FROM products p LEFT JOIN product_sales s ON s.product_id = p.id
            WHERE p.id = ANY(%s::uuid[])""",
        (order_id, product_ids),
    )).fetchall()
    return {str(row["id"]): row for row in rows}, any(row["order_exists"] for row in rows)


async def page_orders(
    conn: AsyncConnection, *, user_id: str | None, seller_id: str | None, after: tuple | None, limit: int,
) -> list[dict]:
    """Newest first; by owner, by seller (orders holding their products), or all."""
    where, params = [], []
    if user_id:
        where.append("o.user_id = %s")
        params.append(user_id)
    if seller_id:
        where.append("EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.seller_id = %s)")
        params.append(seller_id)
    if after:
        where.append("(o.created_at, o.id) < (%s, %s)")
        params.extend(after)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return await (await conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders o {clause} ORDER BY o.created_at DESC, o.id DESC LIMIT %s",
        [*params, limit],
    )).fetchall()


async def anonymise_user_orders(conn: AsyncConnection, user_id) -> None:
    """For account erasure: orders stay (sellers' books, stock history) without the address."""
    await conn.execute("UPDATE orders SET shipping_address = NULL WHERE user_id = %s", (user_id,))
