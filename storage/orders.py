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


# The order and its lines in one statement, only if the writer's epoch is current.
_INSERT_ORDER = """
    WITH o AS (
        INSERT INTO orders (id, user_id, status, stock_state, currency, subtotal_amount, shipping_amount,
                            total_amount, shipping_address, request_hash, version, created_at)
        SELECT %(id)s, %(user_id)s, %(status)s, %(stock_state)s, %(currency)s, %(subtotal)s, %(shipping)s,
               %(total)s, %(address)s, %(request_hash)s, %(version)s, %(created_at)s
         WHERE (SELECT epoch FROM shard_epochs WHERE shard_id = %(shard_id)s) = %(epoch)s
        ON CONFLICT (id) DO NOTHING
        RETURNING id),
    l AS (
        INSERT INTO order_lines (order_id, line_no, product_id, seller_id, sku, name, quantity, unit_price_amount)
        SELECT o.id, l.line_no, l.product_id, l.seller_id, l.sku, l.name, l.quantity, l.unit_price
          FROM o, json_to_recordset(%(lines)s::json) AS l(
               line_no int, product_id uuid, seller_id uuid, sku text, name text, quantity int, unit_price bigint))
    SELECT count(*) FROM o"""


async def insert_order(conn: AsyncConnection, order: dict, lines: list[dict], *, shard_id: int, epoch: int) -> str | None:
    """Insert a new order and its lines if our epoch is current; None on success, else "fenced" or "stale"."""
    params = {
        **order, "address": Jsonb(order["address"]) if order["address"] is not None else None,
        "shard_id": shard_id, "epoch": epoch,
        "lines": json_rows([{**line, "line_no": n} for n, line in enumerate(lines, start=1)]),
    }
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(_INSERT_ORDER, params)
        (inserted,) = await cur.fetchone()
    if inserted != 1:
        return await fenced_or_stale(conn, shard_id, epoch)
    return None


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


async def orders_needing_attention(conn: AsyncConnection) -> list[str]:
    rows = await (await conn.execute(
        """SELECT id FROM orders
            WHERE status IN ('PENDING', 'AWAITING_PAYMENT') OR stock_state IN ('reserving', 'releasing', 'committing')"""
    )).fetchall()
    return [str(row["id"]) for row in rows]


async def products_for_checkout(conn: AsyncConnection, product_ids: list) -> dict[str, dict]:
    """Current catalog data for the products of a checkout, by id; during a
    running sale the sale price replaces the list price."""
    rows = await (await conn.execute(
        """SELECT p.id, p.seller_id, p.sku, p.name, p.status,
                  CASE WHEN s.product_id IS NOT NULL AND now() >= s.starts_at AND now() < s.ends_at
                       THEN s.price_amount ELSE p.price_amount END AS price_amount,
                  CASE WHEN s.product_id IS NOT NULL AND now() >= s.starts_at AND now() < s.ends_at
                       THEN s.currency ELSE p.price_currency END AS price_currency
             FROM products p LEFT JOIN product_sales s ON s.product_id = p.id
            WHERE p.id = ANY(%s::uuid[])""",
        (product_ids,),
    )).fetchall()
    return {str(row["id"]): row for row in rows}


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
