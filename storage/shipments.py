"""SQL for shipments and their events. Every function runs in the caller's transaction."""

from __future__ import annotations

import uuid
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

COLUMNS = "id, order_id, status, courier, partner, tracking_number, next_step_at, created_at, updated_at"


async def _one(conn: AsyncConnection, sql: str, params) -> dict | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        return await cur.fetchone()


async def insert(
    conn: AsyncConnection, shipment_id: uuid.UUID, order_id: str, *, courier: str, first_step_in_s: float | None
) -> dict | None:
    """A new CREATED shipment for the order; None if the order already has one."""
    return await _one(
        conn,
        f"""INSERT INTO shipments (id, order_id, status, courier, next_step_at)
            VALUES (%s, %s, 'CREATED', %s,
                    CASE WHEN %s::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => %s) END)
            ON CONFLICT (order_id) DO NOTHING RETURNING {COLUMNS}""",
        (shipment_id, order_id, courier, first_step_in_s, first_step_in_s),
    )


async def lock(conn: AsyncConnection, *, shipment_id=None, tracking_number=None, order_id=None) -> dict | None:
    """The shipment named by exactly one key, locked for the rest of the transaction."""
    (column, value), = [(c, v) for c, v in (("id", shipment_id), ("tracking_number", tracking_number),
                                            ("order_id", order_id)) if v is not None]
    return await _one(conn, f"SELECT {COLUMNS} FROM shipments WHERE {column} = %s FOR UPDATE", (value,))


async def claim_due(conn: AsyncConnection) -> dict | None:
    """One simulated shipment whose next step is due, locked; others' claims are skipped."""
    return await _one(
        conn,
        f"""SELECT {COLUMNS} FROM shipments
             WHERE next_step_at <= now() AND courier = 'simulator'
             ORDER BY next_step_at LIMIT 1 FOR UPDATE SKIP LOCKED""",
        (),
    )


async def update(conn: AsyncConnection, shipment_id: uuid.UUID, *, status: str, partner: str | None,
                 tracking_number: str | None, next_step_in_s: float | None) -> dict:
    return await _one(
        conn,
        f"""UPDATE shipments SET status = %s, partner = %s, tracking_number = %s, updated_at = clock_timestamp(),
                   next_step_at = CASE WHEN %s::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => %s) END
             WHERE id = %s RETURNING {COLUMNS}""",
        (status, partner, tracking_number, next_step_in_s, next_step_in_s, shipment_id),
    )


async def reschedule(conn: AsyncConnection, shipment_id: uuid.UUID, in_s: float | None) -> None:
    await conn.execute(
        """UPDATE shipments
              SET next_step_at = CASE WHEN %s::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => %s) END
            WHERE id = %s""",
        (in_s, in_s, shipment_id),
    )


async def add_event(
    conn: AsyncConnection, shipment_id: uuid.UUID, *, status: str, source: str, external_id: str,
    event_id: uuid.UUID | None = None, details: dict | None = None,
) -> bool:
    """Record what happened; False if this (source, external_id) was recorded before (a replay)."""
    cur = await conn.execute(
        """INSERT INTO shipment_events (shipment_id, status, source, external_id, event_id, details)
           VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (source, external_id) DO NOTHING""",
        (shipment_id, status, source, external_id, event_id, Jsonb(details or {})),
    )
    return cur.rowcount == 1


async def event_seen(conn: AsyncConnection, source: str, external_id: str) -> bool:
    async with conn.cursor() as cur:
        await cur.execute("SELECT 1 FROM shipment_events WHERE source = %s AND external_id = %s",
                          (source, external_id))
        return await cur.fetchone() is not None


async def order_status(conn: AsyncConnection, order_id) -> str | None:
    row = await _one(conn, "SELECT status FROM orders WHERE id = %s", (order_id,))
    return row["status"] if row else None


async def tracking(conn: AsyncConnection, order_id: str) -> dict | None:
    """The order's shipment with its events, oldest first; None before there is one."""
    shipment = await _one(conn, f"SELECT {COLUMNS} FROM shipments WHERE order_id = %s", (order_id,))
    if shipment is None:
        return None
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT status, source, details, occurred_at FROM shipment_events
                WHERE shipment_id = %s ORDER BY id""",
            (shipment["id"],),
        )
        shipment["events"] = await cur.fetchall()
    return shipment

