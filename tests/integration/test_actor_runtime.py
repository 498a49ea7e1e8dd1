"""The virtual-actor runtime on real PostgreSQL: group commit, fencing, passivation."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from actors.inventory.entity import ProductEntity
from actors.inventory.state import Reserve, Restock
from actors.runtime.entity import Fenced, StaleState
from actors.runtime.placement import Placement
from actors.runtime.shard import ShardCore
from domain.errors import Conflict, NotFound
from tests.factories import make_product

# Shard ids far above any configured shard count: these in-process
# incarnations never fence the Ray shards other tests use.
TEST_SHARD_BASE = 10_000


def core(pool, shard_id: int, **kwargs) -> ShardCore:
    return ShardCore(shard_id, pool, {"product": ProductEntity()}, **kwargs)


async def counters(pool, product_id: str) -> dict:
    async with pool.connection() as conn:
        return await (await conn.execute(
            "SELECT received, reserved, sold, version FROM product_stock WHERE product_id = %s", (product_id,)
        )).fetchone()


async def test_group_commit_answers_after_one_transaction_per_batch(system, pool):
    product = await make_product(system.settings.database_url, stock=10)
    shard = await core(pool, TEST_SHARD_BASE + 1).start()
    replies = await asyncio.gather(
        *(shard.call("product", product, Reserve(f"o-{i}", 1)) for i in range(10)),
    )
    assert {r.order_id for r in replies} == {f"o-{i}" for i in range(10)}
    actor = shard._actors[("product", product)]
    assert actor.batches < 10  # the ten asks shared transactions
    assert (await counters(pool, product))["reserved"] == 10
    await shard.close()


async def test_rejection_in_a_batch_changes_nothing_and_others_commit(system, pool):
    product = await make_product(system.settings.database_url, stock=1)
    shard = await core(pool, TEST_SHARD_BASE + 2).start()
    results = await asyncio.gather(
        shard.call("product", product, Reserve("a", 1)),
        shard.call("product", product, Reserve("b", 1)),
        return_exceptions=True,
    )
    assert results[0].status == "held"
    assert isinstance(results[1], Conflict) and results[1].code == "out_of_stock"
    assert (await counters(pool, product))["reserved"] == 1
    await shard.close()


async def test_unknown_product_is_not_found(system, pool):
    shard = await core(pool, TEST_SHARD_BASE + 3).start()
    with pytest.raises(NotFound):
        await shard.call("product", str(uuid.uuid4()), Reserve("x", 1))
    with pytest.raises(NotFound):
        await shard.call("product", "not-a-uuid", Reserve("x", 1))
    await shard.close()


async def test_passivate_then_reactivate_keeps_state(system, pool):
    product = await make_product(system.settings.database_url, stock=5)
    shard = await core(pool, TEST_SHARD_BASE + 4, idle_ttl_s=0.3).start()
    await shard.call("product", product, Reserve("keep", 2))
    await shard.call("product", product, Restock(3, "r1"))
    before = shard._actors[("product", product)].state.snapshot()
    await asyncio.sleep(0.8)  # idle TTL passes: the actor passivates by itself
    assert not shard.is_active("product", product)
    replay = await shard.call("product", product, Reserve("keep", 2))  # idempotent replay
    assert replay.status == "held"
    after = shard._actors[("product", product)].state
    assert after.snapshot() == before
    assert after.reservations["keep"].quantity == 2
    assert "r1" in after.restock_ids
    await shard.close()


async def test_older_epoch_is_fenced_off(system, pool):
    product = await make_product(system.settings.database_url, stock=5)
    shard_id = TEST_SHARD_BASE + 5
    fenced_calls = []
    old = await core(pool, shard_id, on_fenced=lambda: fenced_calls.append(True)).start()
    await old.call("product", product, Reserve("before", 1))
    new = await core(pool, shard_id).start()  # a new incarnation: next epoch
    assert new.epoch == old.epoch + 1
    with pytest.raises(Fenced):
        await old.call("product", product, Reserve("zombie", 1))
    assert fenced_calls == [True]
    with pytest.raises(Fenced):  # and it stays fenced
        await old.call("product", product, Reserve("zombie-2", 1))
    reply = await new.call("product", product, Reserve("after", 1))
    assert reply.status == "held"
    stock = await counters(pool, product)
    assert stock["reserved"] == 2
    async with pool.connection() as conn:
        refs = await (await conn.execute(
            "SELECT ref FROM stock_ledger WHERE product_id = %s AND kind = 'reserve' ORDER BY id", (product,)
        )).fetchall()
    assert [r["ref"] for r in refs] == ["before", "after"]
    await old.close()
    await new.close()


async def test_a_stale_state_is_refused_as_stale_not_fenced_and_reloaded(system, pool):
    """The stored version moved on under a current incarnation (e.g. a key that changed
    shards): its write is refused, its callers may retry, and it reloads; it is not fenced."""
    product = await make_product(system.settings.database_url, stock=5)
    fenced_calls = []
    shard = await core(pool, TEST_SHARD_BASE + 6, on_fenced=lambda: fenced_calls.append(True)).start()
    await shard.call("product", product, Reserve("first", 1))
    async with pool.connection() as conn:  # another writer, behind the actor's back
        await conn.execute("UPDATE product_stock SET version = version + 1 WHERE product_id = %s", (product,))
        await conn.commit()
    with pytest.raises(StaleState):
        await shard.call("product", product, Reserve("second", 1))
    assert fenced_calls == [] and not shard.fenced
    assert (await counters(pool, product))["reserved"] == 1  # nothing of the refused batch was written
    reply = await shard.call("product", product, Reserve("second", 1))  # reloaded from PostgreSQL
    assert reply.status == "held" and (await counters(pool, product))["reserved"] == 2
    await shard.close()


def test_placement_is_stable_and_pins_hot_keys():
    placement = Placement(4, {"hot-sku": 0})
    assert placement.total_shards == 5
    assert placement.shard_for("hot-sku") == 4
    assert Placement(4).shard_for("some-key") == Placement(4).shard_for("some-key")
    # Known value: the hash must not depend on the process (PYTHONHASHSEED).
    from actors.runtime.placement import stable_hash

    assert stable_hash("abc") == int.from_bytes(__import__("hashlib").blake2b(b"abc", digest_size=8).digest(), "big")
    spread = {placement.shard_for(f"k{i}") for i in range(200)}
    assert spread == {0, 1, 2, 3}


async def test_batch_stats_count_every_answered_message_across_passivation(system, pool):
    product = await make_product(system.settings.database_url, stock=30)
    shard = await core(pool, TEST_SHARD_BASE + 7).start()
    await asyncio.gather(*(shard.call("product", product, Reserve(f"s-{i}", 1)) for i in range(20)))
    first = shard.batch_stats()["product"]
    assert first["messages"] == 20 and 1 <= first["batches"] < 20  # grouped, and every ask counted
    assert await shard.passivate("product", product)
    await shard.call("product", product, Reserve("s-after", 1))  # a new activation of the same key
    assert shard.batch_stats()["product"] == {"batches": first["batches"] + 1, "messages": 21}
    await shard.close()
