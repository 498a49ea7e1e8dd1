"""SQL for product stock. Only the product's virtual actor writes these rows
after creation; `create_stock` runs in the catalog's create transaction, when
no actor can hold the product yet."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import tuple_row

from storage.records import json_rows
from storage.fencing import fenced_or_stale


async def create_stock(conn: AsyncConnection, product_id, initial: int, restock_id: str = "initial") -> None:
    """Give a new product its stock row (and ledger entry) in the caller's transaction."""
    await conn.execute(
        "INSERT INTO product_stock (product_id, received, version) VALUES (%s, %s, %s)",
        (product_id, initial, 1 if initial else 0),
    )
    if initial:
        await conn.execute(
            "INSERT INTO stock_ledger (product_id, kind, ref, quantity, version) VALUES (%s, 'restock', %s, %s, 1)",
            (product_id, restock_id, initial),
        )


# Released reservations older than this are not loaded on activation: they
# only matter to refuse a very late retry of a reserve for a closed order.
RELEASED_LOOKBACK = "1 day"
# The reservations a ProductActor loads, and whose orders count as its holders.
_RESERVATIONS_KEPT = f"""product_id = %s
    AND (status <> 'released' OR updated_at > now() - interval '{RELEASED_LOOKBACK}')"""


async def load_stock(conn: AsyncConnection, product_id: str) -> tuple[dict, list[dict], list[str], dict | None] | None:
    """Counters, live reservations, applied restock ids and the sale; None if no such product."""
    counters = await (await conn.execute(
        "SELECT received, reserved, sold, version FROM product_stock WHERE product_id = %s", (product_id,)
    )).fetchone()
    if counters is None:
        return None
    reservations = await (await conn.execute(
        f"SELECT order_id, quantity, status, hold_until, shopper_id FROM stock_reservations WHERE {_RESERVATIONS_KEPT}",
        (product_id,),
    )).fetchall()
    restocks = await (await conn.execute(
        "SELECT ref FROM stock_ledger WHERE product_id = %s AND kind = 'restock'", (product_id,)
    )).fetchall()
    sale = await (await conn.execute(
        "SELECT starts_at, ends_at, price_amount, currency, per_shopper_limit FROM product_sales WHERE product_id = %s",
        (product_id,),
    )).fetchone()
    return counters, reservations, [row["ref"] for row in restocks], sale


async def reservation_holders(conn: AsyncConnection, product_id: str) -> list[str]:
    """The orders with a reservation of the product, as its actor loads them (held,
    sold, or released within RELEASED_LOOKBACK)."""
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(f"SELECT order_id FROM stock_reservations WHERE {_RESERVATIONS_KEPT}", (product_id,))
        return [row[0] for row in await cur.fetchall()]


# See write_stock_batch.
_WRITE_STOCK_BATCH = """
    WITH counters AS (
        UPDATE product_stock
           SET received = %(received)s, reserved = %(reserved)s, sold = %(sold)s,
               version = %(version)s, updated_at = now()
         WHERE product_id = %(product_id)s AND version = %(expected_version)s
           AND (SELECT epoch FROM shard_epochs WHERE shard_id = %(shard_id)s) = %(epoch)s
        RETURNING 1
    ), ledger AS (
        INSERT INTO stock_ledger (product_id, kind, ref, quantity, version, epoch)
        SELECT %(product_id)s, kind, ref, quantity, version, %(epoch)s
          FROM json_to_recordset(%(movements)s::json) AS m(kind text, ref text, quantity int, version bigint)
         WHERE EXISTS (SELECT 1 FROM counters)
    ), holds AS (
        INSERT INTO stock_reservations (product_id, order_id, quantity, status, hold_until, shopper_id)
        SELECT %(product_id)s, order_id, quantity, status, hold_until, shopper_id
          FROM json_to_recordset(%(reservations)s::json)
               AS r(order_id text, quantity int, status text, hold_until timestamptz, shopper_id text)
         WHERE EXISTS (SELECT 1 FROM counters)
        ON CONFLICT (product_id, order_id) DO UPDATE
           SET quantity = EXCLUDED.quantity, status = EXCLUDED.status,
               hold_until = EXCLUDED.hold_until, updated_at = now()
    )
    SELECT count(*) FROM counters"""


async def write_stock_batch(
    conn: AsyncConnection, product_id: str, *, received: int, reserved: int, sold: int, version: int,
    expected_version: int, shard_id: int, epoch: int, movements: list[dict], reservations: list,
) -> str | None:
    """One batch of a ProductActor in ONE statement: the counters (only if our
    epoch is current and the stored version is ours), the ledger rows and the
    changed reservations (only if the counters were written).

    Returns None on success, else "fenced" or "stale".
    """
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(
            _WRITE_STOCK_BATCH,
            {
                "product_id": product_id, "received": received, "reserved": reserved, "sold": sold,
                "version": version, "expected_version": expected_version, "shard_id": shard_id, "epoch": epoch,
                "movements": json_rows(movements),
                "reservations": json_rows([
                    {"order_id": r.order_id, "quantity": r.quantity, "status": r.status, "hold_until": r.hold_until,
                     "shopper_id": r.shopper_id}
                    for r in reservations
                ]),
            },
        )
        (written,) = await cur.fetchone()
    if written == 1:
        return None
    return await fenced_or_stale(conn, shard_id, epoch)


async def stock_figures(conn: AsyncConnection, product_id: str) -> dict | None:
    """The committed counters (what the API reports)."""
    row = await (await conn.execute(
        """SELECT received, reserved, sold, received - reserved - sold AS available, version
             FROM product_stock WHERE product_id = %s""",
        (product_id,),
    )).fetchone()
    return row


async def product_owner(conn: AsyncConnection, product_id: str) -> dict | None:
    """The product's seller id (as text) and list-price currency, or None if there is no such product."""
    row = await (await conn.execute(
        "SELECT seller_id::text AS seller_id, price_currency FROM products WHERE id = %s", (product_id,)
    )).fetchone()
    return row


async def save_sale(conn: AsyncConnection, product_id: str, sale) -> None:
    await conn.execute(
        """INSERT INTO product_sales (product_id, starts_at, ends_at, price_amount, currency, per_shopper_limit)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (product_id) DO UPDATE
              SET starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at, price_amount = EXCLUDED.price_amount,
                  currency = EXCLUDED.currency, per_shopper_limit = EXCLUDED.per_shopper_limit, updated_at = now()""",
        (product_id, sale.starts_at, sale.ends_at, sale.price, sale.currency, sale.per_shopper_limit),
    )


async def sale_of(conn: AsyncConnection, product_id: str) -> dict | None:
    return await (await conn.execute(
        "SELECT starts_at, ends_at, price_amount, currency, per_shopper_limit FROM product_sales WHERE product_id = %s",
        (product_id,),
    )).fetchone()
