"""OrderActors on the real shards: recovery of an interrupted checkout, worker commands."""

from __future__ import annotations

import os
import signal
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from actors.inventory.state import Reserve
from actors.orders.model import Advance, Line, Open, Paid, Totals
from actors.orders.state import OrderTrigger
from actors.runtime.client import ActorClient
from domain.errors import IllegalTransition
from tests.factories import make_product, make_user
from tests.helpers import eventually


@pytest.fixture
def actors(system) -> ActorClient:
    return ActorClient(system.settings)


async def open_order(system, actors, *, quantity: int = 1, stock: int = 5) -> tuple[str, str, tuple[Line, ...]]:
    product = await make_product(system.settings.database_url, stock=stock)
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        user = str(await make_user(conn, "shopper"))
        await conn.commit()
    lines = (Line(product, str(uuid.uuid4()), "SKU", "Thing", quantity, 100),)
    order_id = str(uuid.uuid4())
    view = await actors.ask("order", order_id, Open(user, lines, Totals("USD", 100, 0, 100), None, datetime.now(UTC)))
    assert view["status"] == "PENDING"
    return order_id, product, lines


async def stock(dsn: str, product: str) -> dict:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        received, reserved, sold = await (await conn.execute(
            "SELECT received, reserved, sold FROM product_stock WHERE product_id = %s", (product,)
        )).fetchone()
    return {"received": received, "reserved": reserved, "sold": sold}


async def test_a_checkout_that_died_after_reserving_is_finished_by_the_order_actor(system, actors):
    """The checkout opened the order and reserved its line, then died before answering."""
    order_id, product, _ = await open_order(system, actors, quantity=2)
    await actors.ask("product", product, Reserve(order_id, 2))
    # The order's shard dies too; its restart finds the PENDING order in PostgreSQL.
    shard = actors.placement.shard_for(order_id)
    os.kill((await actors.handle(shard).ping.remote())["pid"], signal.SIGKILL)
    grace = system.settings.order_recovery_grace_s
    await eventually(lambda: _order_status(system, order_id, "AWAITING_PAYMENT"), timeout_s=grace + 30)
    assert (await stock(system.settings.database_url, product))["reserved"] == 2  # one hold, not two


async def test_an_abandoned_checkout_whose_stock_ran_out_is_released(system, actors):
    order_id, product, _ = await open_order(system, actors, quantity=3, stock=3)
    # Someone else takes the stock before the order's line was ever reserved.
    await actors.ask("product", product, Reserve(f"other-{order_id}", 2))
    grace = system.settings.order_recovery_grace_s
    await eventually(lambda: _order_status(system, order_id, "REJECTED"), timeout_s=grace + 30)
    assert (await stock(system.settings.database_url, product))["reserved"] == 2


async def test_paid_order_is_committed_and_the_workers_complete_it_once(system, actors):
    """Paid (twice: a redelivery) commits the stock once; the delivery worker and the
    `orders` consumer then drive FULFILLING -> SHIPPED -> DELIVERED -> COMPLETED."""
    order_id, product, lines = await open_order(system, actors, quantity=1)
    from actors.orders import process

    decision = await process.reserve_order(actors, order_id, lines, timedelta(minutes=5), None)
    await actors.ask("order", order_id, decision)
    paid = await actors.ask("order", order_id, Paid("pay-1"))
    assert paid["status"] == "PAID"
    assert (await actors.ask("order", order_id, Paid("pay-1")))["status"] in {"PAID", "FULFILLING"}
    await eventually(lambda: _sold(system, product, 1))
    await eventually(lambda: _order_status(system, order_id, "COMPLETED"), timeout_s=60)
    with pytest.raises(IllegalTransition):
        await actors.ask("order", order_id, Advance(OrderTrigger.SHIP, "late-event"))
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        types = [r[0] for r in await (await conn.execute(
            "SELECT type FROM outbox WHERE aggregate_id = %s ORDER BY sequence", (order_id,)
        )).fetchall()]
    assert types == ["ORDER_PLACED", "ORDER_PAID", "ORDER_COMPLETED"]
    assert (await stock(system.settings.database_url, product)) == {"received": 5, "reserved": 0, "sold": 1}


async def _order_status(system, order_id: str, status: str) -> bool:
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        row = await (await conn.execute("SELECT status FROM orders WHERE id = %s", (order_id,))).fetchone()
    return row is not None and row[0] == status


async def _sold(system, product: str, n: int) -> bool:
    return (await stock(system.settings.database_url, product))["sold"] == n
