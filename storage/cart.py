"""SQL for shopping carts: one row per (shopper, product) in `cart_items`.

Adds run under a per-cart transaction lock (`lock_cart`), so the checks made
before writing (the cart's currency, the line's quantity) still hold when the
write lands. The add itself is one additive upsert that re-checks the cap, so
concurrent adds to one line never lose an update even without the lock.

The checkout imports `cart_lines` and `clear_cart`; both run in the caller's
transaction and never commit.
"""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import dict_row

# First key of the two-key advisory lock space; the second is hashtext(user id).
# Two-key locks never collide with one-key locks (e.g. the migration lock).
_CART_LOCK_NAMESPACE = 0x63617274  # "cart"


async def lock_cart(conn: AsyncConnection, user_id: str) -> None:
    """Serialize writers of one cart until the caller's transaction ends."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(%s, hashtext(%s::text))", (_CART_LOCK_NAMESPACE, user_id)
    )


async def cart_lines(conn: AsyncConnection, user_id: str) -> list[dict]:
    """`[{"product_id", "quantity"}]` in the order added; locks the cart, so no add
    slips in between this read and `clear_cart` in the same transaction."""
    await lock_cart(conn, user_id)
    async with conn.cursor(row_factory=dict_row) as cur:  # whatever the caller's row factory
        await cur.execute(
            """SELECT product_id::text AS product_id, quantity FROM cart_items
                WHERE user_id = %s ORDER BY added_at, product_id""",
            (user_id,),
        )
        return await cur.fetchall()


async def clear_cart(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute("DELETE FROM cart_items WHERE user_id = %s", (user_id,))


async def cart_view_rows(conn: AsyncConnection, user_id: str) -> list[dict]:
    """Every line with its product's current price, status and available stock (one join)."""
    cur = await conn.execute(
        """SELECT c.product_id::text AS product_id, c.quantity,
                  c.price_when_added_amount, c.price_currency AS price_when_added_currency,
                  p.sku, p.name, p.status, p.price_amount, p.price_currency,
                  COALESCE(s.received - s.reserved - s.sold, 0) AS available
             FROM cart_items c
             JOIN products p ON p.id = c.product_id
             LEFT JOIN product_stock s ON s.product_id = c.product_id
            WHERE c.user_id = %s
            ORDER BY c.added_at, c.product_id""",
        (user_id,),
    )
    return await cur.fetchall()


async def cart_state(conn: AsyncConnection, user_id: str, product_id: str) -> tuple[str | None, int]:
    """The cart's currency (None when empty) and this product's quantity in it (0 if none)."""
    row = await (await conn.execute(
        """SELECT (SELECT price_currency FROM cart_items WHERE user_id = %(user)s LIMIT 1) AS currency,
                  (SELECT quantity FROM cart_items WHERE user_id = %(user)s AND product_id = %(product)s)
                      AS quantity""",
        {"user": user_id, "product": product_id},
    )).fetchone()
    return row["currency"], row["quantity"] or 0


async def add_to_line(
    conn: AsyncConnection, user_id: str, product_id: str, quantity: int, *,
    price_amount: int, currency: str, max_quantity: int,
) -> int | None:
    """Add `quantity` to the line (creating it at this price); the new quantity,
    or None when the sum would pass `max_quantity` (then nothing changed)."""
    row = await (await conn.execute(
        """INSERT INTO cart_items AS c (user_id, product_id, quantity, price_when_added_amount, price_currency)
           VALUES (%(user)s, %(product)s, %(quantity)s, %(amount)s, %(currency)s)
           ON CONFLICT (user_id, product_id) DO UPDATE
              SET quantity = c.quantity + EXCLUDED.quantity, updated_at = clock_timestamp()
            WHERE c.quantity + EXCLUDED.quantity <= %(max)s
           RETURNING c.quantity""",
        {"user": user_id, "product": product_id, "quantity": quantity, "amount": price_amount,
         "currency": currency, "max": max_quantity},
    )).fetchone()
    return row["quantity"] if row else None


async def line_product_status(conn: AsyncConnection, user_id: str, product_id: str) -> str | None:
    """The status of the product on this line, locking the line; None if there is no line."""
    row = await (await conn.execute(
        """SELECT p.status FROM cart_items c JOIN products p ON p.id = c.product_id
            WHERE c.user_id = %s AND c.product_id = %s FOR UPDATE OF c""",
        (user_id, product_id),
    )).fetchone()
    return row["status"] if row else None


async def set_quantity(conn: AsyncConnection, user_id: str, product_id: str, quantity: int) -> bool:
    cur = await conn.execute(
        """UPDATE cart_items SET quantity = %s, updated_at = clock_timestamp()
            WHERE user_id = %s AND product_id = %s""",
        (quantity, user_id, product_id),
    )
    return cur.rowcount == 1


async def remove_line(conn: AsyncConnection, user_id: str, product_id: str) -> bool:
    cur = await conn.execute(
        "DELETE FROM cart_items WHERE user_id = %s AND product_id = %s", (user_id, product_id)
    )
    return cur.rowcount == 1
