"""Rows for tests that need a seller or a product without going through HTTP.

Keep these in step with the migrations: they insert only required columns.
"""

from __future__ import annotations

import uuid

import psycopg

from storage.inventory import create_stock


async def make_user(conn: psycopg.AsyncConnection, role: str = "seller") -> uuid.UUID:
    user_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO users (id, email, name, role) VALUES (%s, %s, %s, %s)",
        (user_id, f"{user_id.hex}@example.test", "Test User", role),
    )
    return user_id


async def make_product(dsn: str, *, stock: int = 0, price: int = 1000) -> str:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        seller = await make_user(conn)
        product_id = uuid.uuid4()
        await conn.execute(
            """INSERT INTO products (id, seller_id, sku, name, price_amount, price_currency)
               VALUES (%s, %s, %s, %s, %s, 'USD')""",
            (product_id, seller, f"SKU-{product_id.hex[:8]}", "Test product", price),
        )
        await create_stock(conn, product_id, stock)
        await conn.commit()
    return str(product_id)
