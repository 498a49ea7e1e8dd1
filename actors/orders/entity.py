"""The OrderActor: the runtime's entity kind "order", one per order.

Rules: `model.py` and `state.py` (pure). Here: loading, persisting (epoch- and
version-checked), and what the actor derives from its state: the hold-expiry
and re-drive timers, and the stock effects (release or commit every line
through the ProductActors, until they confirm).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from psycopg import AsyncConnection

from actors.orders import process
from actors.orders.model import (
    Expire, Line, OrderState, Redrive, StockSettled, Totals,
)
from actors.orders.state import OrderStatus
from actors.runtime.entity import EntityBase, Fenced, StaleState, TimerFired, WriteContext
from config import Settings
from domain.errors import NotFound
from domain.ids import uuid_or_none
from events.envelope import NewEvent
from events.outbox import append_events
from storage import orders as sql


class OrderEntity(EntityBase):
    kind = "order"

    def __init__(self, settings: Settings):
        self.recovery_grace = timedelta(seconds=settings.order_recovery_grace_s)
        self.hold_ttl = timedelta(seconds=settings.order_hold_ttl_s)

    async def load(self, conn: AsyncConnection, key: str) -> OrderState:
        if uuid_or_none(key) is None:
            raise NotFound("No such order.", code="order_not_found")
        loaded = await sql.load_order(conn, key)
        if loaded is None:
            return OrderState(id=key)  # not opened yet: only Open is accepted
        return state_from_rows(*loaded)

    def clone(self, state: OrderState) -> OrderState:
        return state.clone()

    def dirty(self, before: OrderState, after: OrderState) -> bool:
        return after.version != before.version

    def adopt(self, before: OrderState, after: OrderState) -> OrderState:
        after.take_events()  # written: forget them
        return after

    def apply(self, state: OrderState, command):
        if isinstance(command, TimerFired):
            command = Expire(datetime.now(UTC)) if command.name == "expire" else Redrive()
        return state.apply(command)

    async def persist(self, conn: AsyncConnection, before: OrderState, after: OrderState, ctx: WriteContext) -> None:
        if not before.exists:
            failure = await sql.insert_order(conn, order_record(after), shard_id=ctx.shard_id, epoch=ctx.epoch)
        else:
            failure = await sql.update_order(conn, {
                "id": after.id, "status": str(after.status), "stock_state": after.stock,
                "expires_at": after.expires_at, "short_items": list(after.short_items),
                "cancel_reason": after.cancel_reason, "refund_requested": after.refund_requested,
                "applied_refs": sorted(after.applied_refs), "version": after.version,
                "created_at": after.created_at,
            }, expected_version=before.version, shard_id=ctx.shard_id, epoch=ctx.epoch)
        if failure == "fenced":
            raise Fenced(f"Shard {ctx.shard_id} epoch {ctx.epoch} is fenced off; retry.")
        if failure == "stale":
            raise StaleState("The order changed elsewhere; retry.")
        await append_events(conn, order_events(after))

    # -- derived from the state -----------------------------------------------

    def timers(self, state: OrderState) -> dict[str, datetime]:
        return state.due_timers(self.recovery_grace)

    def effects(self, state: OrderState) -> dict:
        if state.stock == "releasing":
            return {"release": lambda ctx: process.release_lines(ctx.actors, state.id, state.lines, StockSettled("released"))}
        if state.stock == "committing":
            return {"commit": lambda ctx: process.commit_lines(ctx.actors, state.id, state.lines, StockSettled("committed"))}
        if state.status == OrderStatus.PENDING and state.redriving:
            return {"redrive": lambda ctx: process.reserve_order(
                ctx.actors, state.id, state.lines, self.hold_ttl, state.user_id)}
        return {}

    async def keys_needing_attention(self, conn: AsyncConnection) -> list[str]:
        return await sql.orders_needing_attention(conn)

    async def keys_due(self, conn: AsyncConnection) -> list[str]:
        # Orders placed by a ProductActor (actors/orders/place.py) have no active
        # actor and so no armed timer: their expiry is found here.
        return await sql.orders_due(conn)


def order_record(state: OrderState) -> dict:
    """A new order's row (and its lines) for `storage.orders.insert_orders`."""
    totals = state.totals
    return {
        "id": state.id, "user_id": state.user_id, "status": str(state.status), "stock_state": state.stock,
        "currency": totals.currency, "subtotal": totals.subtotal, "shipping": totals.shipping,
        "total": totals.total, "address": state.shipping_address, "expires_at": state.expires_at,
        "short_items": list(state.short_items), "request_hash": state.request_hash, "version": state.version,
        "created_at": state.created_at, "lines": [line.__dict__ for line in state.lines],
    }


def order_events(state: OrderState) -> list[NewEvent]:
    """The events the state recorded since it was last written, for the outbox."""
    return [NewEvent(type=type_, aggregate_id=state.id, data=data) for type_, data in state.pending_events]


def state_from_rows(row: dict, lines: list[dict]) -> OrderState:
    currency = row["currency"]
    return OrderState(
        id=str(row["id"]), user_id=str(row["user_id"]), status=OrderStatus(row["status"]),
        stock=row["stock_state"],
        lines=tuple(
            Line(str(l["product_id"]), str(l["seller_id"]), l["sku"], l["name"], l["quantity"], l["unit_price_amount"])
            for l in lines
        ),
        totals=Totals(currency, row["subtotal_amount"], row["shipping_amount"], row["total_amount"]),
        shipping_address=row["shipping_address"], created_at=row["created_at"], expires_at=row["expires_at"],
        short_items=tuple(row["short_items"] or ()), cancel_reason=row["cancel_reason"],
        refund_requested=row["refund_requested"], applied_refs=frozenset(row["applied_refs"] or ()),
        request_hash=row["request_hash"],
        version=row["version"],
    )
