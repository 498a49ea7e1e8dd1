"""Cart use cases: one transaction each; raise domain errors only.

The caller is a signed-in shopper (the route checks the role), so the user
id is a live user's. Refusals are raised before anything is written, and
every write runs in one transaction, so a refused request changes nothing.
"""

from __future__ import annotations


from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from domain.errors import NotFound
from domain.ids import uuid_or_none
from serve_app.cart import rules
from serve_app.cart.schemas import CartView
from storage import cart as store
from storage.catalog import get_product


def _no_product() -> NotFound:
    return NotFound("No such product.", code="product_not_found")


def _no_line() -> NotFound:
    return NotFound("This product is not in your cart.", code="cart_item_not_found")


class CartService:
    def __init__(self, pool: AsyncConnectionPool, *, max_quantity: int):
        self._pool = pool
        self._max_quantity = max_quantity

    async def view(self, user_id: str) -> CartView:
        async with self._pool.connection() as conn:
            return await self._view(conn, user_id)

    async def add(self, user_id: str, product_id: str, quantity: int) -> CartView:
        """Add units to the product's line (created at today's price if new)."""
        rules.ensure_quantity(quantity, self._max_quantity)
        product_id = uuid_or_none(product_id)
        if product_id is None:
            raise _no_product()
        async with self._pool.connection() as conn, conn.transaction():
            product = await get_product(conn, product_id)
            if product is None:
                raise _no_product()
            await store.lock_cart(conn, user_id)
            cart_currency, held = await store.cart_state(conn, user_id, product_id)
            rules.ensure_addable(product["status"], product["price_currency"], cart_currency)
            rules.ensure_quantity(held + quantity, self._max_quantity)
            added = await store.add_to_line(
                conn, user_id, product_id, quantity, price_amount=product["price_amount"],
                currency=product["price_currency"], max_quantity=self._max_quantity,
            )
            if added is None:  # not reached under the lock; the upsert re-checks the cap anyway
                raise rules.quantity_too_large(held + quantity, self._max_quantity)
            return await self._view(conn, user_id)

    async def set_quantity(self, user_id: str, product_id: str, quantity: int) -> CartView:
        rules.ensure_quantity(quantity, self._max_quantity)
        product_id = uuid_or_none(product_id)
        if product_id is None:
            raise _no_line()
        async with self._pool.connection() as conn, conn.transaction():
            status = await store.line_product_status(conn, user_id, product_id)
            if status is None:
                raise _no_line()
            rules.ensure_active(status)
            await store.set_quantity(conn, user_id, product_id, quantity)
            return await self._view(conn, user_id)

    async def remove(self, user_id: str, product_id: str) -> None:
        product_id = uuid_or_none(product_id)
        if product_id is None:
            raise _no_line()
        async with self._pool.connection() as conn, conn.transaction():
            if not await store.remove_line(conn, user_id, product_id):
                raise _no_line()

    async def clear(self, user_id: str) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await store.clear_cart(conn, user_id)

    async def _view(self, conn: AsyncConnection, user_id: str) -> CartView:
        return rules.build_view(await store.cart_view_rows(conn, user_id))
