"""The catalog service against the real PostgreSQL: atomic writes, racing ETags, keyset ties."""

from __future__ import annotations

import asyncio
import time
import uuid

import psycopg
import pytest

from domain.errors import PreconditionFailed
from serve_app.catalog.etag import parse_if_match
from serve_app.catalog.schemas import CategoryCreate, Price, ProductCreate, ProductQuery, ProductUpdate
from serve_app.catalog.service import CatalogService
from serve_app.identity.tokens import Principal
from tests.factories import make_user


@pytest.fixture
async def seller(system) -> Principal:
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        user_id = await make_user(conn, "seller")
        await conn.commit()
    now = int(time.time())
    return Principal(user_id=str(user_id), role="seller", token_id="test", issued_at=now, expires_at=now + 600)


@pytest.fixture
async def category(pool, unique) -> str:
    slug = f"int-{unique}"
    await CatalogService(pool).create_category(CategoryCreate(slug=slug, name="Integration"))
    return slug


def new_product(category: str, **overrides) -> ProductCreate:
    fields = {"sku": f"SKU-{uuid.uuid4().hex[:8]}", "name": "Kettle", "price": Price(amount=2500, currency="EUR"),
              "category": category}
    fields.update(overrides)
    return ProductCreate(**fields)


async def scalar(pool, query: str, params=()) -> int:
    async with pool.connection() as conn:
        row = await (await conn.execute(query, params)).fetchone()
    return next(iter(row.values()))


async def test_a_failed_stock_write_leaves_no_product_and_no_event(pool, seller, category):
    # Bypass validation to make the stock insert itself fail (CHECK received >= 0).
    bad = ProductCreate.model_construct(**{**new_product(category).model_dump(), "price": Price(amount=1, currency="EUR"),
                                           "stock": -1, "seller_id": None})
    with pytest.raises(psycopg.errors.CheckViolation):
        await CatalogService(pool).create_product(seller, bad, correlation_id=None)
    assert await scalar(pool, "SELECT count(*) FROM products WHERE seller_id = %s", (seller.user_id,)) == 0
    assert await scalar(pool, "SELECT count(*) FROM outbox WHERE data->>'seller_id' = %s", (seller.user_id,)) == 0


async def test_racing_updates_with_one_etag_let_exactly_one_win(pool, seller, category):
    catalog = CatalogService(pool)
    product = await catalog.create_product(seller, new_product(category), correlation_id=None)

    async def rename(n: int):
        patch = ProductUpdate(name=f"Kettle {n}")
        return await catalog.update_product(seller, product.id, patch, parse_if_match('"1"'), correlation_id=None)

    outcomes = await asyncio.gather(*(rename(n) for n in range(5)), return_exceptions=True)
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, PreconditionFailed) for o in outcomes if o is not winners[0])
    current = await catalog.get_product(product.id)
    assert (current.version, current.name) == (2, winners[0].name)
    assert await scalar(pool, "SELECT count(*) FROM outbox WHERE aggregate_id = %s AND type = 'PRODUCT_UPDATED'",
                        (product.id,)) == 1


async def test_keyset_pages_through_ties_in_the_sort_key(pool, seller, category):
    """Rows with the same created_at and price are ordered, and paged, by id."""
    ids = sorted(uuid.uuid4() for _ in range(9))
    async with pool.connection() as conn:
        for product_id in ids:
            await conn.execute(
                """INSERT INTO products (id, seller_id, sku, name, price_amount, price_currency, category, created_at)
                   VALUES (%s, %s, %s, 'Same', 700, 'EUR', %s, '2024-01-01T00:00:00Z')""",
                (product_id, seller.user_id, f"TIE-{product_id.hex[:8]}", category),
            )
        await conn.commit()
    catalog = CatalogService(pool)
    for sort, expected in (("newest", ids[::-1]), ("price_asc", ids), ("price_desc", ids[::-1]), ("name", ids)):
        seen, cursor = [], None
        while True:
            page = await catalog.list_products(ProductQuery(category=category, sort=sort, limit=2, cursor=cursor))
            seen += [uuid.UUID(p.id) for p in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected, sort
