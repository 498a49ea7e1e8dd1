"""SQL for the catalog: categories and products.

Rows come back as dicts (the pool's row factory). Every write runs in a
savepoint of the caller's transaction and turns constraint violations into
domain errors, so a rejected item (a duplicate SKU, an unknown category)
leaves the caller's transaction usable: bulk creation relies on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, errors, sql
from psycopg.types.json import Jsonb

from domain.errors import Conflict, InvalidInput

# What a product read returns; `available` is the sellable stock.
_PRODUCT = sql.SQL(
    """p.id, p.seller_id, p.sku, p.name, p.description, p.price_amount, p.price_currency,
       p.category, p.attributes, p.status, p.version, p.created_at, p.updated_at,
       COALESCE(s.received - s.reserved - s.sold, 0) AS available"""
)

# Listing orders: the sort column and direction; the id breaks ties the same way.
SORTS: dict[str, tuple[str, str]] = {
    "newest": ("created_at", "DESC"),
    "price_asc": ("price_amount", "ASC"),
    "price_desc": ("price_amount", "DESC"),
    "name": ("name", "ASC"),
}

# API field -> columns it is stored in.
_COLUMNS = {"sku": ("sku",), "name": ("name",), "description": ("description",), "category": ("category",),
            "attributes": ("attributes",), "price": ("price_amount", "price_currency")}


@dataclass(frozen=True)
class ProductFilters:
    q: str | None = None
    category: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    currency: str | None = None
    seller_id: UUID | None = None


def _violation(exc: errors.IntegrityError) -> Exception:
    constraint = exc.diag.constraint_name or ""
    if constraint == "products_seller_sku_active":
        return Conflict("This seller already has a product with that SKU.", code="sku_taken")
    if constraint == "products_category_fkey":
        return InvalidInput("No category with that slug: an admin creates categories first.", code="unknown_category")
    if constraint == "products_seller_id_fkey":
        return InvalidInput("No such seller.", code="unknown_seller")
    if constraint == "categories_pkey":
        return Conflict("A category with that slug exists.", code="category_exists")
    return exc


async def _write(conn: AsyncConnection, query, params) -> dict | None:
    try:
        async with conn.transaction():  # a savepoint inside the caller's transaction
            cur = await conn.execute(query, params)
            return await cur.fetchone()
    except (errors.UniqueViolation, errors.ForeignKeyViolation) as exc:
        raise _violation(exc) from None


async def insert_category(conn: AsyncConnection, slug: str, name: str) -> dict:
    return await _write(
        conn, "INSERT INTO categories (slug, name) VALUES (%s, %s) RETURNING slug, name, created_at", (slug, name)
    )


async def list_categories(conn: AsyncConnection, *, after: str | None, limit: int) -> list[dict]:
    cur = await conn.execute(
        """SELECT slug, name, created_at FROM categories
           WHERE %(after)s::text IS NULL OR slug > %(after)s ORDER BY slug LIMIT %(limit)s""",
        {"after": after, "limit": limit},
    )
    return await cur.fetchall()


async def user_role(conn: AsyncConnection, user_id: UUID) -> str | None:
    """The role of a live (not erased) user, or None."""
    cur = await conn.execute("SELECT role FROM users WHERE id = %s AND deleted_at IS NULL", (user_id,))
    row = await cur.fetchone()
    return row["role"] if row else None


async def insert_product(
    conn: AsyncConnection, *, product_id: UUID, seller_id: UUID, sku: str, name: str, description: str,
    price_amount: int, price_currency: str, category: str, attributes: dict[str, Any],
) -> dict:
    """Insert an active product (version 1); the row has no `available` yet: the caller adds its stock."""
    return await _write(
        conn,
        """INSERT INTO products (id, seller_id, sku, name, description, price_amount, price_currency,
                                 category, attributes)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           RETURNING id, seller_id, sku, name, description, price_amount, price_currency, category,
                     attributes, status, version, created_at, updated_at""",
        (product_id, seller_id, sku, name, description, price_amount, price_currency, category, Jsonb(attributes)),
    )


async def get_product(conn: AsyncConnection, product_id: UUID, *, for_update: bool = False) -> dict | None:
    """Any product, archived too; `for_update` locks the row for a read-modify-write."""
    query = sql.SQL("SELECT {} FROM products p LEFT JOIN product_stock s ON s.product_id = p.id WHERE p.id = %s{}").format(
        _PRODUCT, sql.SQL(" FOR UPDATE OF p") if for_update else sql.SQL("")
    )
    cur = await conn.execute(query, (product_id,))
    return await cur.fetchone()


async def list_products(
    conn: AsyncConnection, filters: ProductFilters, *, sort: str, after: tuple[Any, UUID] | None, limit: int
) -> list[dict]:
    """Active products in `sort` order, strictly after the keyset position `after` (sort key, id)."""
    column, direction = SORTS[sort]
    where = [sql.SQL("p.status = 'active'")]
    params: dict[str, Any] = {"limit": limit}
    for clause, name, value in (
        ("p.search @@ websearch_to_tsquery('english', %(q)s)", "q", filters.q),
        ("p.category = %(category)s", "category", filters.category),
        ("p.price_amount >= %(min_price)s", "min_price", filters.min_price),
        ("p.price_amount <= %(max_price)s", "max_price", filters.max_price),
        ("p.price_currency = %(currency)s", "currency", filters.currency),
        ("p.seller_id = %(seller_id)s", "seller_id", filters.seller_id),
    ):
        if value is not None:
            where.append(sql.SQL(clause))
            params[name] = value
    if after is not None:
        params["after_key"], params["after_id"] = after
        where.append(sql.SQL("({col}, p.id) {op} (%(after_key)s, %(after_id)s)").format(
            col=sql.Identifier("p", column), op=sql.SQL("<" if direction == "DESC" else ">")
        ))
    query = sql.SQL(
        "SELECT {fields} FROM products p LEFT JOIN product_stock s ON s.product_id = p.id "
        "WHERE {where} ORDER BY {col} {dir}, p.id {dir} LIMIT %(limit)s"
    ).format(
        fields=_PRODUCT, where=sql.SQL(" AND ").join(where),
        col=sql.Identifier("p", column), dir=sql.SQL(direction),
    )
    cur = await conn.execute(query, params)
    return await cur.fetchall()


async def update_product(conn: AsyncConnection, product_id: UUID, changes: dict[str, Any]) -> dict:
    """Apply API-level changes (`price` as (amount, currency)), bump the version, return the product."""
    assignments, params = [], []
    for field, value in changes.items():
        values = value if field == "price" else (Jsonb(value) if field == "attributes" else value,)
        for column, column_value in zip(_COLUMNS[field], values, strict=True):
            assignments.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(column_value)
    return await _set_returning(conn, product_id, sql.SQL(", ").join(assignments), params)


async def archive_product(conn: AsyncConnection, product_id: UUID) -> dict:
    return await _set_returning(conn, product_id, sql.SQL("status = 'archived'"), [])


async def _set_returning(conn: AsyncConnection, product_id: UUID, assignments: sql.Composable, params: list) -> dict:
    query = sql.SQL(
        """WITH p AS (
               UPDATE products SET {assignments}, version = version + 1, updated_at = clock_timestamp()
               WHERE id = %s RETURNING *)
           SELECT {fields} FROM p LEFT JOIN product_stock s ON s.product_id = p.id"""
    ).format(assignments=assignments, fields=_PRODUCT)
    return await _write(conn, query, [*params, product_id])
