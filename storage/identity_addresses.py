"""SQL for shipping addresses. Every query is scoped by `user_id`: another
user's address is simply not found."""

from __future__ import annotations

import uuid
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import dict_row, tuple_row

COLUMNS = "id, user_id, name, line1, line2, city, region, postal_code, country, phone, created_at, updated_at"
FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")


async def count(conn: AsyncConnection, user_id: uuid.UUID) -> int:
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute("SELECT count(*) FROM addresses WHERE user_id = %s", (user_id,))
        return (await cur.fetchone())[0]


async def insert(conn: AsyncConnection, address_id: uuid.UUID, user_id: uuid.UUID, values: dict) -> dict:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""INSERT INTO addresses (id, user_id, {", ".join(FIELDS)})
                VALUES (%s, %s, {", ".join(["%s"] * len(FIELDS))}) RETURNING {COLUMNS}""",
            (address_id, user_id, *(values.get(f) for f in FIELDS)),
        )
        return await cur.fetchone()


async def get(conn: AsyncConnection, user_id: uuid.UUID, address_id: uuid.UUID) -> dict | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {COLUMNS} FROM addresses WHERE id = %s AND user_id = %s", (address_id, user_id))
        return await cur.fetchone()


async def get_any(conn: AsyncConnection, address_id: uuid.UUID) -> dict | None:
    """By id alone, for the ownership check, which compares `user_id` with the caller."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {COLUMNS} FROM addresses WHERE id = %s", (address_id,))
        return await cur.fetchone()


async def page(
    conn: AsyncConnection, user_id: uuid.UUID, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[dict]:
    """Up to `limit` addresses in creation order, after the keyset position `after`."""
    condition, params = "", [user_id]
    if after is not None:
        condition = "AND (created_at, id) > (%s, %s)"
        params += list(after)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""SELECT {COLUMNS} FROM addresses WHERE user_id = %s {condition}
                ORDER BY created_at, id LIMIT %s""",
            (*params, limit),
        )
        return await cur.fetchall()


async def update(conn: AsyncConnection, user_id: uuid.UUID, address_id: uuid.UUID, changes: dict) -> dict | None:
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValueError(f"not address columns: {sorted(unknown)}")
    assignments = "".join(f"{column} = %s, " for column in changes)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""UPDATE addresses SET {assignments}updated_at = clock_timestamp()
                WHERE id = %s AND user_id = %s RETURNING {COLUMNS}""",
            (*changes.values(), address_id, user_id),
        )
        return await cur.fetchone()


async def delete(conn: AsyncConnection, user_id: uuid.UUID, address_id: uuid.UUID) -> bool:
    async with conn.cursor() as cur:
        await cur.execute("DELETE FROM addresses WHERE id = %s AND user_id = %s", (address_id, user_id))
        return cur.rowcount == 1


async def delete_all(conn: AsyncConnection, user_id: uuid.UUID) -> int:
    async with conn.cursor() as cur:
        await cur.execute("DELETE FROM addresses WHERE user_id = %s", (user_id,))
        return cur.rowcount
