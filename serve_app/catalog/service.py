"""Catalog use cases: each runs in one transaction with its events (outbox).

Raises domain errors only; `serve_app/routes/catalog.py` maps them to HTTP.
Ownership: a seller manages only their own products, an admin any; another
seller's product is reported as not found, so ids cannot be probed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, PreconditionFailed, Unauthenticated
from domain.money import Money
from events.envelope import NewEvent
from events.outbox import append_events
from serve_app.auth import ensure_owner
from serve_app.catalog.etag import IfMatch, etag_for
from serve_app.catalog.schemas import (
    CategoryCreate, CategoryPage, CategoryPublic, ProductCreate, ProductPage, ProductPublic, ProductQuery,
    ProductUpdate,
)
from serve_app.identity.tokens import Principal
from serve_app.pagination import aware_datetime, bigint, decode_cursor, encode_cursor, split_page, text, uuid_id
from storage import catalog as store
from storage.inventory import create_stock


# Per listing order: how the cursor's sort key is parsed back.
_KEY_PARSERS = {"newest": aware_datetime, "price_asc": bigint, "price_desc": bigint, "name": text}


def _sort_key(sort: str, row: dict) -> Any:
    column, _ = store.SORTS[sort]
    value = row[column]
    return value.isoformat() if isinstance(value, datetime) else value


def product_from_row(row: dict) -> ProductPublic:
    return ProductPublic(
        id=str(row["id"]), seller_id=str(row["seller_id"]), sku=row["sku"], name=row["name"],
        description=row["description"], price=Money(amount=row["price_amount"], currency=row["price_currency"]),
        category=row["category"], attributes=row["attributes"], status=row["status"], version=row["version"],
        available=row["available"], created_at=row["created_at"].astimezone(UTC),
        updated_at=row["updated_at"].astimezone(UTC),
    )


def _product_id(raw: str) -> uuid.UUID:
    """A path id that is not a UUID names no product: 404, not 422."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("No such product.") from None


def _user_id(principal: Principal) -> uuid.UUID:
    try:
        return uuid.UUID(principal.user_id)
    except ValueError:
        raise Unauthenticated("The access token names no user.", code="invalid_token") from None


def _stored(value: Any) -> Any:
    """A field as stored; prices as (amount, currency), since a request's Price
    and a stored Money are different classes that never compare equal."""
    return (value.amount, value.currency) if isinstance(value, Money) else value


def _event(type_: str, product_id: Any, data: dict, correlation_id: str | None) -> NewEvent:
    return NewEvent(type=type_, aggregate_id=str(product_id), data=data, correlation_id=correlation_id)


class CatalogService:
    def __init__(self, pool: AsyncConnectionPool):
        self._pool = pool

    # Categories -------------------------------------------------------------

    async def create_category(self, data: CategoryCreate) -> CategoryPublic:
        async with self._pool.connection() as conn, conn.transaction():
            row = await store.insert_category(conn, data.slug, data.name)
        return CategoryPublic(**row)

    async def list_categories(self, *, limit: int, cursor: str | None) -> CategoryPage:
        after = decode_cursor(cursor, "slug", [text])[0] if cursor else None
        async with self._pool.connection() as conn:
            rows, last = split_page(await store.list_categories(conn, after=after, limit=limit + 1), limit)
        return CategoryPage(
            items=[CategoryPublic(**row) for row in rows],
            next_cursor=encode_cursor("slug", [last["slug"]]) if last else None,
        )

    # Reads ------------------------------------------------------------------

    async def list_products(self, query: ProductQuery) -> ProductPage:
        after = None
        if query.cursor:  # an empty cursor is the first page
            after = decode_cursor(query.cursor, query.sort, [_KEY_PARSERS[query.sort], uuid_id])
        filters = store.ProductFilters(
            q=query.q, category=query.category, min_price=query.min_price, max_price=query.max_price,
            currency=query.currency, seller_id=query.seller_id,
        )
        async with self._pool.connection() as conn:
            found = await store.list_products(conn, filters, sort=query.sort, after=after, limit=query.limit + 1)
        rows, last = split_page(found, query.limit)
        next_cursor = encode_cursor(query.sort, [_sort_key(query.sort, last), str(last["id"])]) if last else None
        return ProductPage(items=[product_from_row(row) for row in rows], next_cursor=next_cursor)

    async def get_product(self, product_id: str) -> ProductPublic:
        async with self._pool.connection() as conn:
            row = await store.get_product(conn, _product_id(product_id))
        if row is None:
            raise NotFound("No such product.")
        return product_from_row(row)

    # Writes -----------------------------------------------------------------

    async def create_product(self, principal: Principal, data: ProductCreate, correlation_id: str | None) -> ProductPublic:
        async with self._pool.connection() as conn, conn.transaction():
            return await self._create(conn, principal, data, correlation_id)

    async def create_products(
        self, principal: Principal, items: list[ProductCreate | DomainError], correlation_id: str | None
    ) -> list[ProductPublic | DomainError]:
        """Create each valid item in its own savepoint; a rejected item rolls back alone.

        Items that failed validation are passed through as their error.
        """
        outcomes: list[ProductPublic | DomainError] = []
        async with self._pool.connection() as conn, conn.transaction():
            for item in items:
                if isinstance(item, DomainError):
                    outcomes.append(item)
                    continue
                try:
                    async with conn.transaction():
                        outcomes.append(await self._create(conn, principal, item, correlation_id))
                except DomainError as exc:
                    outcomes.append(exc)
        return outcomes

    async def _create(
        self, conn: AsyncConnection, principal: Principal, data: ProductCreate, correlation_id: str | None
    ) -> ProductPublic:
        seller_id = await self._owner(conn, principal, data.seller_id)
        product_id = uuid.uuid4()
        row = await store.insert_product(
            conn, product_id=product_id, seller_id=seller_id, sku=data.sku, name=data.name,
            description=data.description, price_amount=data.price.amount, price_currency=data.price.currency,
            category=data.category, attributes=data.attributes,
        )
        await create_stock(conn, product_id, data.stock)
        product = product_from_row({**row, "available": data.stock})
        await append_events(conn, [_event("PRODUCT_ADDED", product_id, {
            "product_id": product.id, "seller_id": product.seller_id, "sku": product.sku, "name": product.name,
            "price": product.price.model_dump(), "category": product.category,
        }, correlation_id)])
        return product

    async def _owner(self, conn: AsyncConnection, principal: Principal, requested: uuid.UUID | None) -> uuid.UUID:
        caller = _user_id(principal)
        if requested is None or requested == caller:
            return caller
        if principal.role != "admin":
            raise Forbidden("Only an admin may create products for another seller.")
        if await store.user_role(conn, requested) != "seller":
            raise InvalidInput("No seller with that id.", code="unknown_seller")
        return requested

    async def update_product(
        self, principal: Principal, product_id: str, patch: ProductUpdate, if_match: IfMatch | None,
        correlation_id: str | None,
    ) -> ProductPublic:
        async with self._pool.connection() as conn, conn.transaction():
            row = await self._load_for_write(conn, principal, product_id, if_match)
            if row["status"] == "archived":
                raise Conflict("An archived product cannot be changed.", code="product_archived")
            current = product_from_row(row)
            changes = {
                field: _stored(value) for field, value in patch.changes().items()
                if _stored(getattr(current, field)) != _stored(value)
            }
            if not changes:
                return current  # nothing differs: no new version, no event
            updated = product_from_row(await store.update_product(conn, row["id"], changes))
            await append_events(conn, [_event("PRODUCT_UPDATED", updated.id, {
                "product_id": updated.id, "changed": list(changes), "version": updated.version,
            }, correlation_id)])
            return updated

    async def archive_product(
        self, principal: Principal, product_id: str, if_match: IfMatch | None, correlation_id: str | None
    ) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            row = await self._load_for_write(conn, principal, product_id, if_match)
            if row["status"] == "archived":
                return  # archiving twice is a no-op
            await store.archive_product(conn, row["id"])
            await append_events(conn, [_event("PRODUCT_DELETED", row["id"], {"product_id": str(row["id"])}, correlation_id)])

    async def _load_for_write(
        self, conn: AsyncConnection, principal: Principal, product_id: str, if_match: IfMatch | None
    ) -> dict:
        row = await store.get_product(conn, _product_id(product_id), for_update=True)
        if row is None:
            raise NotFound("No such product.")
        ensure_owner(row["seller_id"], principal, what="product", admin_sees_all=True)
        if if_match is not None and not if_match.matches(row["version"]):
            raise PreconditionFailed(
                "The product changed since you read it: fetch it again and retry with its ETag.",
                details={"current_etag": etag_for(row["version"])},
            )
        return row
