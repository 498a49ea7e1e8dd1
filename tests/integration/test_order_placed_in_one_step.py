"""Orders a ProductActor places in one step, on the real shards: what is written, a race with
the general checkout (Redecide), and a hold that expires without its OrderActor ever running."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from actors.orders.model import Cancel, Line, Open, Totals
from actors.orders.place import OrderExists, PlaceOrder
from actors.runtime.client import ActorClient
from domain.errors import Unavailable
from tests.factories import make_product, make_user
from tests.helpers import eventually


@pytest.fixture
def actors(system) -> ActorClient:
    return ActorClient(system.settings)


async def shopper(dsn: str) -> str:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        user = str(await make_user(conn, "shopper"))
        await conn.commit()
    return user


def opening(product: str, user: str, quantity: int = 1) -> Open:
    line = Line(product, str(uuid.uuid4()), "SKU", "Thing", quantity, 300)
    return Open(user, (line,), Totals("USD", 300 * quantity, 0, 300 * quantity), None, datetime.now(UTC), "h")


async def fetch(dsn: str, sql: str, *args) -> list[tuple]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        return await (await conn.execute(sql, args)).fetchall()


async def test_the_order_its_line_and_both_events_commit_with_the_reservation(system, actors):
    dsn = system.settings.database_url
    product, user = await make_product(dsn, stock=3), await shopper(dsn)
    order_id = str(uuid.uuid4())
    hold = datetime.now(UTC) + timedelta(minutes=10)
    view = await actors.ask("product", product, PlaceOrder(order_id, opening(product, user, 2), hold))
    assert view["status"] == "AWAITING_PAYMENT" and view["id"] == order_id
    [(status, stock_state, expires_at, version)] = await fetch(
        dsn, "SELECT status, stock_state, expires_at, version FROM orders WHERE id = %s", order_id)
    assert (status, stock_state, expires_at, version) == ("AWAITING_PAYMENT", "held", hold, 2)
    assert await fetch(dsn, "SELECT product_id::text, quantity FROM order_lines WHERE order_id = %s",
                       order_id) == [(product, 2)]
    events = await fetch(dsn, "SELECT type, sequence FROM outbox WHERE aggregate_id IN (%s, %s) ORDER BY type",
                         order_id, product)
    assert ("ORDER_PLACED", 1) in events and ("STOCK_RESERVED", 1) in events
    # The OrderActor takes over on its first message: a cancel returns the units.
    cancelled = await actors.ask("order", order_id, Cancel("changed my mind"))
    assert cancelled["status"] == "CANCELLED"
    await eventually(lambda: _reserved(dsn, product, 0))


async def test_an_order_the_general_checkout_opened_meanwhile_is_left_to_its_order_actor(system, actors):
    """The same id opened through the OrderActor (same key, another body): placing it
    again must neither reserve nor fail the other orders of the product's batch."""
    dsn = system.settings.database_url
    product, user = await make_product(dsn, stock=10), await shopper(dsn)
    taken = str(uuid.uuid4())
    assert (await actors.ask("order", taken, opening(product, user)))["status"] == "PENDING"
    hold = datetime.now(UTC) + timedelta(minutes=10)
    others = [str(uuid.uuid4()) for _ in range(5)]
    replies = await asyncio.gather(*(
        actors.ask("product", product, PlaceOrder(order_id, opening(product, user), hold))
        for order_id in [*others, taken]
    ))
    assert replies[-1] == OrderExists(taken)
    assert all(reply["status"] == "AWAITING_PAYMENT" for reply in replies[:-1])
    assert await _reserved(dsn, product, len(others))
    [(status,)] = await fetch(dsn, "SELECT status FROM orders WHERE id = %s", taken)
    assert status == "PENDING"  # untouched: still its OrderActor's


async def test_a_hold_runs_out_although_no_order_actor_was_ever_activated(system, actors):
    """Nothing arms a timer for an order placed by a ProductActor: the shards' sweep
    of due holds (EntityBase.keys_due) must find it, expire it and return its units."""
    dsn = system.settings.database_url
    product, user = await make_product(dsn, stock=2), await shopper(dsn)
    order_id = str(uuid.uuid4())
    hold = datetime.now(UTC) + timedelta(seconds=1)
    await actors.ask("product", product, PlaceOrder(order_id, opening(product, user), hold))
    assert await _reserved(dsn, product, 1)
    timeout = system.settings.due_sweep_interval_s + 30
    await eventually(lambda: _status(dsn, order_id, "EXPIRED"), timeout_s=timeout)
    await eventually(lambda: _reserved(dsn, product, 0))


async def test_kill_9_of_the_products_shard_loses_no_placed_order_and_makes_none_twice(system, actors):
    dsn = system.settings.database_url
    product, user = await make_product(dsn, stock=120), await shopper(dsn)
    shard_id = actors.placement.shard_for(product)
    before = await actors.handle(shard_id).ping.remote()
    hold = datetime.now(UTC) + timedelta(minutes=10)
    placed: set[str] = set()  # answered AWAITING_PAYMENT
    existing: set[str] = set()  # answered OrderExists: a retry after a commit whose answer was lost
    killed = asyncio.Event()

    async def buyer(worker: int) -> None:
        for i in range(8):
            order_id = str(uuid.uuid4())
            try:
                reply = await actors.ask("product", product, PlaceOrder(order_id, opening(product, user), hold))
            except Unavailable:
                continue
            (existing if isinstance(reply, OrderExists) else placed).add(order_id)
            if len(placed) >= 40 and not killed.is_set():
                killed.set()
                os.kill(before["pid"], signal.SIGKILL)

    await asyncio.wait_for(asyncio.gather(*(buyer(w) for w in range(15))), timeout=120)
    assert killed.is_set() and (await actors.handle(shard_id).ping.remote())["pid"] != before["pid"]
    orders = dict(await fetch(dsn, """SELECT o.id::text, o.status FROM orders o JOIN order_lines l ON l.order_id = o.id
                                       WHERE l.product_id = %s""", product))
    held = {row[0] for row in await fetch(
        dsn, "SELECT order_id FROM stock_reservations WHERE product_id = %s AND status = 'held'", product)}
    assert placed | existing <= set(orders)  # nothing acknowledged is lost
    assert {o for o, status in orders.items() if status == "AWAITING_PAYMENT"} == held  # each order holds, once
    assert await _reserved(dsn, product, len(held))
    again = await asyncio.gather(*(actors.ask("product", product, PlaceOrder(o, opening(product, user), hold))
                                   for o in sorted(placed)[:10]))
    assert again == [OrderExists(o) for o in sorted(placed)[:10]]  # a retry never places twice


async def test_a_restarted_shard_resumes_unfinished_checkouts_and_leaves_open_holds_to_the_sweep(system, actors):
    """After a flash sale a shard may host thousands of orders waiting for payment; a
    restart must not activate them all (their expiry is the sweep's), only unfinished work."""
    dsn = system.settings.database_url
    product, user = await make_product(dsn, stock=5), await shopper(dsn)
    shard_id = actors.placement.shard_for(product)
    held, pending = (_order_id_on(actors, shard_id) for _ in range(2))
    hold = datetime.now(UTC) + timedelta(minutes=10)
    assert (await actors.ask("product", product, PlaceOrder(held, opening(product, user), hold)))["status"] \
        == "AWAITING_PAYMENT"
    assert (await actors.ask("order", pending, opening(product, user)))["status"] == "PENDING"  # never reserved
    before = await actors.handle(shard_id).ping.remote()
    os.kill(before["pid"], signal.SIGKILL)
    await eventually(lambda: _restarted(actors, shard_id, before["pid"]), timeout_s=60)
    await eventually(lambda: _active(actors, shard_id, pending), timeout_s=30)
    assert not await _active(actors, shard_id, held)


def _order_id_on(actors, shard_id: int) -> str:
    while (order_id := str(uuid.uuid4())) and actors.placement.shard_for(order_id) != shard_id:
        pass
    return order_id


async def _active(actors, shard_id: int, order_id: str) -> bool:
    return await actors.handle(shard_id).is_active.remote("order", order_id)


async def _restarted(actors, shard_id: int, old_pid: int) -> bool:
    try:
        return (await actors.ping(shard_id))["pid"] != old_pid
    except Exception:  # still restarting
        return False


async def _reserved(dsn: str, product: str, n: int) -> bool:
    [(reserved,)] = await fetch(dsn, "SELECT reserved FROM product_stock WHERE product_id = %s", product)
    return reserved == n


async def _status(dsn: str, order_id: str, status: str) -> bool:
    rows = await fetch(dsn, "SELECT status FROM orders WHERE id = %s", order_id)
    return bool(rows) and rows[0][0] == status
