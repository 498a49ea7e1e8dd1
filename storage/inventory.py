"""SQL for product stock. Only the product's virtual actor writes these rows
after creation; `create_stock` runs in the catalog's create transaction, when
no actor can hold the product yet."""

from __future__ import annotations

from psycopg import AsyncConnection


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
