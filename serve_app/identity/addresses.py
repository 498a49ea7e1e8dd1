"""The signed-in user's shipping addresses (at most MAX_ADDRESSES each).

Lists use keyset pagination on (created_at, id) with the API's opaque cursors
(`serve_app/pagination.py`). Ownership: routes load an address through `serve_app.auth.owned`
(another user's address is 404), and every write is scoped by user id too.
"""

from __future__ import annotations

import uuid

from psycopg_pool import AsyncConnectionPool

from domain.errors import Conflict, NotFound
from domain.ids import uuid_or_none
from serve_app.auth import Owned
from serve_app.identity.schemas import AddressCreate, AddressPage, AddressPublic, AddressUpdate
from serve_app.identity.tokens import Principal
from serve_app.pagination import aware_datetime, decode_cursor, encode_cursor, split_page, uuid_id
from storage import identity_addresses as sql

MAX_ADDRESSES = 50
CURSOR_SCOPE = "addresses"


class AddressBook:
    def __init__(self, pool: AsyncConnectionPool):
        self._pool = pool

    async def load(self, address_id: str) -> Owned | None:
        """Any user's address by id, with its owner: for the ownership dependency."""
        parsed = uuid_or_none(address_id)
        if parsed is None:
            return None
        async with self._pool.connection() as conn:
            row = await sql.get_any(conn, parsed)
        return Owned(owner_id=row["user_id"], resource=AddressPublic.of(row)) if row else None

    async def page(self, principal: Principal, limit: int, cursor: str | None) -> AddressPage:
        after = decode_cursor(cursor, CURSOR_SCOPE, (aware_datetime, uuid_id)) if cursor else None
        async with self._pool.connection() as conn:
            rows, last = split_page(await sql.page(conn, _user(principal), limit + 1, after), limit)
        next_cursor = (encode_cursor(CURSOR_SCOPE, [last["created_at"].isoformat(), str(last["id"])])
                       if last else None)
        return AddressPage(items=[AddressPublic.of(r) for r in rows], next_cursor=next_cursor)

    async def add(self, principal: Principal, request: AddressCreate) -> AddressPublic:
        user_id = _user(principal)
        async with self._pool.connection() as conn:
            # Lock the owner's row: concurrent adds cannot both slip under the cap.
            await conn.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (user_id,))
            if await sql.count(conn, user_id) >= MAX_ADDRESSES:
                raise Conflict(f"At most {MAX_ADDRESSES} addresses per account.", code="too_many_addresses")
            row = await sql.insert(conn, uuid.uuid4(), user_id, request.model_dump())
        return AddressPublic.of(row)

    async def update(self, principal: Principal, address_id: str, request: AddressUpdate) -> AddressPublic:
        async with self._pool.connection() as conn:
            if request.changes():
                row = await sql.update(conn, _user(principal), uuid.UUID(address_id), request.changes())
            else:
                row = await sql.get(conn, _user(principal), uuid.UUID(address_id))
        if row is None:
            raise NotFound("No such address.")
        return AddressPublic.of(row)

    async def delete(self, principal: Principal, address_id: str) -> None:
        async with self._pool.connection() as conn:
            if not await sql.delete(conn, _user(principal), uuid.UUID(address_id)):
                raise NotFound("No such address.")


def _user(principal: Principal) -> uuid.UUID:
    return uuid.UUID(principal.user_id)
