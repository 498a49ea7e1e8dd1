"""The ProductActor: the runtime's entity kind "product", owner of one SKU's stock.

Rules live in `state.py` (pure). This module loads that state from
PostgreSQL on activation and persists a batch: counters (epoch- and
version-checked in one statement), ledger rows, changed reservations and
STOCK_* events, all in the runtime's one transaction.
"""

from __future__ import annotations


from psycopg import AsyncConnection

from actors.inventory.state import Reserve, Sale, StockState
from actors.runtime.entity import EntityBase, Fenced, StaleState, WriteContext
from domain.errors import NotFound
from domain.ids import uuid_or_none
from events.envelope import NewEvent
from events.outbox import append_events
from storage import inventory as sql


class ProductEntity(EntityBase):
    kind = "product"
    # Checkouts wait in the mailbox; past this many, they are turned away (429)
    # at once instead of queueing without limit. Releases and commits always queue.
    admission_controlled = (Reserve,)

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

    def clone(self, state: StockState) -> StockState:
        return state.clone()

    def dirty(self, before: StockState, after: StockState) -> bool:
        return bool(after.pending_movements) or after.sale_changed  # else only rejections or replays

    def adopt(self, before: StockState, after: StockState) -> StockState:
        after.take_pending()  # written: forget them
        return after.adopt(before)

    def apply(self, state: StockState, command):
        return state.apply(command)

    async def persist(self, conn: AsyncConnection, before: StockState, after: StockState, ctx: WriteContext) -> None:
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
        await append_events(conn, [
            NewEvent(type=event.type, aggregate_id=after.product_id, data=event.data) for event in events
        ])


def sale_from_row(row: dict | None) -> Sale | None:
    if row is None:
        return None
    return Sale(row["starts_at"], row["ends_at"], row["price_amount"], row["currency"].strip(),
                row["per_shopper_limit"])
