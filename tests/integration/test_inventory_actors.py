"""ProductActors on the real Ray shards: contention and a kill -9 mid-stream."""

from __future__ import annotations

import asyncio
import os
import signal

import psycopg
import pytest

from actors.inventory.state import Reserve
from actors.runtime.client import ActorClient
from domain.errors import Conflict, RateLimited, Unavailable
from tests.factories import make_product


@pytest.fixture
def actors(system) -> ActorClient:
    return ActorClient(system.settings)


async def stock_audit(dsn: str, product_id: str) -> dict:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        counters = await (await conn.execute(
            "SELECT received, reserved, sold FROM product_stock WHERE product_id = %s", (product_id,)
        )).fetchone()
        held = await (await conn.execute(
            "SELECT order_id, quantity FROM stock_reservations WHERE product_id = %s AND status = 'held'",
            (product_id,),
        )).fetchall()
        ledger = await (await conn.execute(
            "SELECT ref, quantity FROM stock_ledger WHERE product_id = %s AND kind = 'reserve'", (product_id,)
        )).fetchall()
    received, reserved, sold = counters
    return {
        "received": received, "reserved": reserved, "sold": sold,
        "held": {order: qty for order, qty in held}, "ledger": [ref for ref, _ in ledger],
    }


async def reserve_politely(actors, product: str, order_id: str):
    """Retry when admission control turns the ask away, as a client would after a 429."""
    while True:
        try:
            return await actors.ask("product", product, Reserve(order_id, 1))
        except RateLimited:
            await asyncio.sleep(0.05)


async def test_500_concurrent_reservations_against_100_units(system, actors, unique):
    product = await make_product(system.settings.database_url, stock=100)
    results = await asyncio.gather(
        *(reserve_politely(actors, product, f"{unique}-{i}") for i in range(500)),
        return_exceptions=True,
    )
    won = {r.order_id for r in results if not isinstance(r, BaseException)}
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 100
    assert len(lost) == 400
    assert all(isinstance(e, Conflict) and e.code == "out_of_stock" for e in lost)
    audit = await stock_audit(system.settings.database_url, product)
    assert audit["reserved"] == 100 and audit["received"] == 100
    assert set(audit["held"]) == won
    assert sorted(audit["ledger"]) == sorted(won)  # one ledger row per success, none for refusals


async def test_kill_9_mid_stream_loses_no_acknowledged_reservation(system, actors, unique):
    product = await make_product(system.settings.database_url, stock=150)
    shard_id = actors.placement.shard_for(product)
    before = await actors.handle(shard_id).ping.remote()
    acknowledged: set[str] = set()
    refused: list[BaseException] = []
    killed = asyncio.Event()

    async def shopper(worker: int) -> None:
        for i in range(15):
            order = f"{unique}-{worker}-{i}"
            try:
                reply = await actors.ask("product", product, Reserve(order, 1))
                acknowledged.add(reply.order_id)
            except (Unavailable, Conflict) as exc:
                refused.append(exc)
            if len(acknowledged) >= 40 and not killed.is_set():
                killed.set()
                os.kill(before["pid"], signal.SIGKILL)

    await asyncio.wait_for(asyncio.gather(*(shopper(w) for w in range(20))), timeout=120)
    assert killed.is_set()
    after = await actors.handle(shard_id).ping.remote()
    assert after["pid"] != before["pid"]
    assert after["epoch"] > before["epoch"]  # the restart is a new, fencing incarnation
    audit = await stock_audit(system.settings.database_url, product)
    assert acknowledged <= set(audit["held"])  # every acknowledged reservation survived
    assert audit["reserved"] == len(audit["held"]) == sum(audit["held"].values())
    assert audit["reserved"] + audit["sold"] <= audit["received"]
    # Callers got an answer or a retryable error, nothing else.
    assert all(isinstance(e, Unavailable) or getattr(e, "code", "") == "out_of_stock" for e in refused)
    assert len(acknowledged) > 150 // 2
