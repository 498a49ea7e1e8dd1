"""SQL for payments, refunds, webhook dedupe and the simulated gateway's ledger.

Nothing here commits: callers own the transactions. Writers of one order's
payments serialize on `lock_order` (a transaction-level advisory lock), so
the checks made before a write still hold when it lands. Rows come back as
dicts whatever the connection's row factory.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

# First keys of two-key advisory locks; the second is hashtext(id).
_ORDER_LOCK_NAMESPACE = 0x70617973  # "pays": writers of one order's payments
_WORK_LOCK_NAMESPACE = 0x70617977  # "payw": a gateway call in flight for a payment or refund

PAYMENT_COLUMNS = """p.id, p.order_id, p.user_id, p.status, p.amount, p.currency, p.refunded_amount, p.provider,
    p.payment_method, p.provider_ref, p.charge_started_at, p.charge_attempts, p.failure_reason, p.created_at,
    p.updated_at,
    COALESCE((SELECT sum(r.amount) FROM payment_refunds r WHERE r.payment_id = p.id AND r.status = 'pending'), 0)
        AS refunding"""


async def _all(conn: AsyncConnection, sql: str, params: Any = None) -> list[dict]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        return await cur.fetchall()


async def _one(conn: AsyncConnection, sql: str, params: Any = None) -> dict | None:
    rows = await _all(conn, sql, params)
    return rows[0] if rows else None


async def lock_order(conn: AsyncConnection, order_id: str) -> None:
    """Serialize writers of this order's payments until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s::text))", (_ORDER_LOCK_NAMESPACE, str(order_id)))


async def try_lock_work(conn: AsyncConnection, key: str) -> bool:
    """Session lock held while a gateway call for `key` is in flight; False if another holds it."""
    row = await _one(conn, "SELECT pg_try_advisory_lock(%s, hashtext(%s::text)) AS ok", (_WORK_LOCK_NAMESPACE, key))
    return bool(row["ok"])


async def unlock_work(conn: AsyncConnection, key: str) -> None:
    await conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s::text))", (_WORK_LOCK_NAMESPACE, key))


async def order_for_payment(conn: AsyncConnection, order_id: str) -> dict | None:
    return await _one(conn, """SELECT id, user_id, status, total_amount, currency, expires_at
                                 FROM orders WHERE id = %s""", (order_id,))


async def claim_idempotency_key(conn: AsyncConnection, user_id: str, scope: str, key: str, request_hash: str,
                                resource_id: str) -> dict:
    """Record the key for `resource_id`, or return what the key already names."""
    row = await _one(conn, """INSERT INTO payment_idempotency (user_id, scope, key, request_hash, resource_id)
                              VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING
                              RETURNING request_hash, resource_id""",
                     (user_id, scope, key, request_hash, resource_id))
    if row is None:
        row = await _one(conn, """SELECT request_hash, resource_id FROM payment_idempotency
                                   WHERE user_id = %s AND scope = %s AND key = %s""", (user_id, scope, key))
    return {"request_hash": row["request_hash"], "resource_id": str(row["resource_id"])}


# -- payments --------------------------------------------------------------------

async def insert_payment(conn: AsyncConnection, payment: dict) -> None:
    await conn.execute(
        """INSERT INTO payments (id, order_id, user_id, status, amount, currency, provider, payment_method)
           VALUES (%(id)s, %(order_id)s, %(user_id)s, %(status)s, %(amount)s, %(currency)s, %(provider)s,
                   %(payment_method)s)""",
        payment,
    )


async def get_payment(conn: AsyncConnection, payment_id: str, *, for_update: bool = False) -> dict | None:
    lock = "FOR UPDATE OF p" if for_update else ""
    return await _one(conn, f"SELECT {PAYMENT_COLUMNS} FROM payments p WHERE p.id = %s {lock}", (payment_id,))


async def payment_by_provider_ref(conn: AsyncConnection, provider_ref: str) -> dict | None:
    """The payment whose intent this is (intent ids are unique across providers: `pi_sim_` vs `pi_`)."""
    return await _one(conn, f"""SELECT {PAYMENT_COLUMNS} FROM payments p WHERE p.provider_ref = %s
                                ORDER BY p.created_at LIMIT 1""", (provider_ref,))


async def payments_for_order(conn: AsyncConnection, order_id: str, *, after: tuple | None = None,
                             limit: int = 100) -> list[dict]:
    """Oldest first, keyset-paged by (created_at, id)."""
    clause, params = ("AND (p.created_at, p.id) > (%s, %s)", list(after)) if after else ("", [])
    return await _all(conn, f"""SELECT {PAYMENT_COLUMNS} FROM payments p WHERE p.order_id = %s {clause}
                                ORDER BY p.created_at, p.id LIMIT %s""", [order_id, *params, limit])


async def start_charge(conn: AsyncConnection, payment_id: str) -> None:
    """Record an attempt before calling the gateway (committed by the caller first)."""
    await conn.execute("""UPDATE payments SET charge_started_at = COALESCE(charge_started_at, now()),
                                 charge_attempts = charge_attempts + 1, updated_at = now()
                           WHERE id = %s""", (payment_id,))


async def set_provider_ref(conn: AsyncConnection, payment_id: str, provider_ref: str) -> None:
    await conn.execute("UPDATE payments SET provider_ref = %s, updated_at = now() WHERE id = %s AND provider_ref IS NULL",
                       (provider_ref, payment_id))


async def settle_payment(conn: AsyncConnection, payment_id: str, status: str, failure_reason: str | None,
                         provider_ref: str | None) -> None:
    await conn.execute("""UPDATE payments SET status = %s, failure_reason = %s,
                                 provider_ref = COALESCE(provider_ref, %s), updated_at = now()
                           WHERE id = %s""", (status, failure_reason, provider_ref, payment_id))


async def set_refunded(conn: AsyncConnection, payment_id: str, status: str, refunded_amount: int) -> None:
    await conn.execute("UPDATE payments SET status = %s, refunded_amount = %s, updated_at = now() WHERE id = %s",
                       (status, refunded_amount, payment_id))


# -- refunds ---------------------------------------------------------------------

async def insert_refund(conn: AsyncConnection, refund: dict) -> None:
    await conn.execute(
        """INSERT INTO payment_refunds (id, payment_id, amount, status, reason, requested_by)
           VALUES (%(id)s, %(payment_id)s, %(amount)s, 'pending', %(reason)s, %(requested_by)s)""",
        refund,
    )


async def refunds_for_payment(conn: AsyncConnection, payment_id: str, *, pending_only: bool = False) -> list[dict]:
    where = "AND status = 'pending'" if pending_only else ""
    return await _all(conn, f"""SELECT id, payment_id, amount, status, reason, requested_by, provider_ref,
                                       attempted_at, created_at, completed_at
                                  FROM payment_refunds WHERE payment_id = %s {where}
                                 ORDER BY created_at, id""", (payment_id,))


async def mark_refund_attempt(conn: AsyncConnection, refund_id: str) -> bool:
    """Record a gateway attempt; True if an earlier attempt was recorded (a resume)."""
    row = await _one(conn, """UPDATE payment_refunds r SET attempted_at = COALESCE(r.attempted_at, now())
                                FROM payment_refunds old WHERE old.id = r.id AND r.id = %s
                              RETURNING old.attempted_at IS NOT NULL AS resumed""", (refund_id,))
    return bool(row and row["resumed"])


async def complete_refund(conn: AsyncConnection, refund_id: str, provider_ref: str) -> dict | None:
    """Mark a pending refund succeeded; None if it was not pending (already completed)."""
    return await _one(conn, """UPDATE payment_refunds SET status = 'succeeded', provider_ref = %s, completed_at = now()
                                WHERE id = %s AND status = 'pending'
                            RETURNING id, payment_id, amount, reason""", (provider_ref, refund_id))


# -- webhooks --------------------------------------------------------------------

async def remember_webhook_event(conn: AsyncConnection, event_id: str, type_: str) -> bool:
    """True the first time this event id is seen."""
    row = await _one(conn, """INSERT INTO stripe_webhook_events (event_id, type) VALUES (%s, %s)
                              ON CONFLICT DO NOTHING RETURNING 1 AS first""", (event_id, type_))
    return row is not None


# -- the simulated gateway's ledger ---------------------------------------------------

async def sim_insert_intent(conn: AsyncConnection, intent: dict) -> None:
    await conn.execute(
        """INSERT INTO simulated_payment_intents (id, payment_id, amount, currency, payment_method, status)
           VALUES (%(id)s, %(payment_id)s, %(amount)s, %(currency)s, %(payment_method)s, 'requires_confirmation')""",
        intent,
    )


async def sim_intents_for_payment(conn: AsyncConnection, payment_id: str) -> list[dict]:
    return await _all(conn, "SELECT * FROM simulated_payment_intents WHERE payment_id = %s ORDER BY created_at, id",
                      (payment_id,))


async def sim_get_intent(conn: AsyncConnection, intent_id: str, *, for_update: bool = False) -> dict | None:
    return await _one(conn, f"SELECT * FROM simulated_payment_intents WHERE id = %s {'FOR UPDATE' if for_update else ''}",
                      (intent_id,))


async def sim_update_intent(conn: AsyncConnection, intent_id: str, status: str, failure_code: str | None) -> None:
    await conn.execute("""UPDATE simulated_payment_intents SET status = %s, failure_code = %s,
                                 confirm_calls = confirm_calls + 1 WHERE id = %s""", (status, failure_code, intent_id))


async def sim_refunds(conn: AsyncConnection, intent_id: str) -> list[dict]:
    return await _all(conn, "SELECT * FROM simulated_refunds WHERE intent_id = %s ORDER BY created_at, id",
                      (intent_id,))


async def sim_insert_refund(conn: AsyncConnection, refund: dict) -> None:
    await conn.execute("""INSERT INTO simulated_refunds (id, intent_id, refund_id, amount)
                          VALUES (%(id)s, %(intent_id)s, %(refund_id)s, %(amount)s)""", refund)
