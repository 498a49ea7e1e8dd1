"""The ProductActor: the runtime's entity kind "product", owner of one SKU's stock.

Rules live in `state.py` (pure). This module loads that state from
PostgreSQL on activation and persists a batch: counters (epoch- and
version-checked in one statement), ledger rows, changed reservations and
STOCK_* events, all in the runtime's one transaction. A batch may also place
single-product orders (`actors/orders/place.py`); they are written in the
same transaction as their reservations.
"""

from __future__ import annotations


from dataclasses import dataclass, field

from psycopg import AsyncConnection

from actors.inventory.state import Reserve, Sale, StockState
from actors.orders.entity import order_events, order_record
from actors.orders.model import OrderState
from actors.orders.place import OrderExists, PlaceOrder, place
from actors.runtime.entity import EntityBase, Fenced, Redecide, StaleState, WriteContext
from domain.errors import NotFound
from domain.ids import uuid_or_none
from events.envelope import NewEvent
from events.outbox import append_events
from storage import inventory as sql
from storage import orders as orders_sql
from storage.fencing import fenced_or_stale


@dataclass
class ProductBatch:
    """A batch's working copy: the stock's clone and the orders the batch places."""

    stock: StockState
    orders: list[OrderState] = field(default_factory=list)


class ProductEntity(EntityBase):
    kind = "product"
    # Checkouts wait in the mailbox; past this many, they are turned away (429)
    # at once instead of queueing without limit. Releases and commits always queue.
    admission_controlled = (Reserve, PlaceOrder)

    def __init__(self, admission_limit: int | None = None):
        self.admission_limit = admission_limit

    async def load(self, conn: AsyncConnection, key: str) -> StockState:
        if uuid_or_none(key) is None:
            raise NotFound("No such product.", code="product_not_found")
        loaded = await sql.load_stock(conn, key)
        if loaded is None:
            raise NotFound("No such product.", code="product_not_found")
        counters, reservations, restock_ids, sale = loaded
        return StockState.from_rows(key, counters, reservations, restock_ids, sale_from_row(sale))

    def clone(self, state: StockState) -> ProductBatch:
        return ProductBatch(state.clone())

    def dirty(self, before: StockState, after: ProductBatch) -> bool:
        # Else only rejections or replays.
        return bool(after.stock.pending_movements or after.stock.sale_changed or after.orders)

    def adopt(self, before: StockState, after: ProductBatch) -> StockState:
        after.stock.take_pending()  # written: forget them
        return after.stock.adopt(before)

    def apply(self, batch: ProductBatch, command):
        if isinstance(command, PlaceOrder):
            placed = place(batch.stock, command)
            if isinstance(placed, OrderExists):
                return placed
            batch.orders.append(placed)
            return placed.public()
        return batch.stock.apply(command)

    async def persist(self, conn: AsyncConnection, before: StockState, batch: ProductBatch, ctx: WriteContext) -> None:
        after = batch.stock
        movements, events = after.pending_movements, after.pending_events
        first_version = before.version + 1
        changed = {m.ref for m in movements if m.kind != "restock"}
        failure = await sql.write_stock_batch(
            conn, after.product_id, received=after.received, reserved=after.reserved, sold=after.sold,
            version=after.version, expected_version=before.version, shard_id=ctx.shard_id, epoch=ctx.epoch,
            movements=[{"kind": m.kind, "ref": m.ref, "quantity": m.quantity, "version": first_version + i}
                       for i, m in enumerate(movements)],
            reservations=[after.reservations[ref] for ref in changed],
        )
        if failure == "fenced":
            raise Fenced(f"Shard {ctx.shard_id} epoch {ctx.epoch} is fenced off; retry.")
        if failure == "stale":
            raise StaleState("The product's stock changed elsewhere; retry.")
        if after.sale_changed:
            await sql.save_sale(conn, after.product_id, after.sale)
        if batch.orders:
            await _insert_orders(conn, batch.orders, ctx)
        await append_events(conn, [
            *(NewEvent(type=event.type, aggregate_id=after.product_id, data=event.data) for event in events),
            *(event for order in batch.orders for event in order_events(order)),
        ])


async def _insert_orders(conn: AsyncConnection, orders: list[OrderState], ctx: WriteContext) -> None:
    inserted = await orders_sql.insert_orders(conn, [order_record(o) for o in orders],
                                              shard_id=ctx.shard_id, epoch=ctx.epoch)
    taken = {o.id for o in orders} - inserted
    if not taken:
        return
    if await fenced_or_stale(conn, ctx.shard_id, ctx.epoch) == "fenced":
        raise Fenced(f"Shard {ctx.shard_id} epoch {ctx.epoch} is fenced off; retry.")
    # Placed meanwhile by the general checkout (same key, other body): its OrderActor answers.
    raise Redecide(lambda command: OrderExists(command.order_id)
                   if isinstance(command, PlaceOrder) and command.order_id in taken else None)


def sale_from_row(row: dict | None) -> Sale | None:
    if row is None:
        return None
    return Sale(row["starts_at"], row["ends_at"], row["price_amount"], row["currency"].strip(),
                row["per_shopper_limit"])
