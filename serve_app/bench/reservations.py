"""`commerce bench reservations`: durable reservations per second.

Same run, same PostgreSQL, same client concurrency:
(a) one hot SKU through its ProductActor (group commit, micro-batched calls);
(b) the same hot SKU as one `UPDATE ... WHERE available >= q` transaction per
    reservation, the way a plain service would do it;
then many SKUs spread over 1, 2 and 4 shards. Both paths commit durably
(synchronous_commit on) before a reservation counts. A few seconds of both
paths run first, unmeasured: a fresh shard and pool are slower at first. With
`rounds` > 1 the (a), (b) pair is repeated, interleaved, and the headline
figures are the medians: the two paths move together with the machine, their
ratio less so.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import uuid
from collections import Counter

from psycopg_pool import AsyncConnectionPool

from actors.inventory.state import Reserve
from actors.runtime.client import ActorClient
from config import Settings
from serve_app.bench.driver import RunResult, closed_loop
from storage.inventory import create_stock
from storage.pool import open_pool

BIG_STOCK = 1_000_000_000 // 1000  # never runs out within a run


async def _seed_products(pool: AsyncConnectionPool, n: int) -> list[str]:
    async with pool.connection() as conn:
        seller = uuid.uuid4()
        await conn.execute(
            "INSERT INTO users (id, email, name, role) VALUES (%s, %s, 'bench seller', 'seller')",
            (seller, f"bench-{seller.hex}@bench.invalid"),
        )
        ids = []
        for i in range(n):
            product = uuid.uuid4()
            await conn.execute(
                """INSERT INTO products (id, seller_id, sku, name, price_amount, price_currency)
                   VALUES (%s, %s, %s, 'bench product', 100, 'USD')""",
                (product, seller, f"BENCH-{product.hex[:10]}-{i}"),
            )
            await create_stock(conn, product, BIG_STOCK)
            ids.append(str(product))
        await conn.commit()
    return ids


async def _hot_row_table(pool: AsyncConnectionPool) -> int:
    async with pool.connection() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_hot_row (id bigserial PRIMARY KEY, available bigint NOT NULL)"
        )
        row = await (await conn.execute(
            "INSERT INTO bench_hot_row (available) VALUES (%s) RETURNING id", (BIG_STOCK,)
        )).fetchone()
        await conn.commit()
    return row["id"]


async def _product_batches(actors: ActorClient, key: str) -> Counter:
    """Batches committed by the product actors of `key`'s shard, and the messages they answered."""
    stats = await actors.ping(actors.placement.shard_for(key))
    return Counter(stats["batches"].get("product", {}))


async def run(settings: Settings, *, concurrency: int, count: int, duration_s: float, skus: int,
              rounds: int = 1, shard_counts: tuple[int, ...] = (1, 2, 4), warmup_s: float = 3.0) -> dict:
    pool = await open_pool(settings.database_url, max_size=concurrency + 2, name="bench")
    results: list[RunResult] = []
    pairs: list[tuple[RunResult, RunResult]] = []
    batch_sizes: list[float] = []  # reservations per ProductActor batch, per round
    try:
        run_id = uuid.uuid4().hex[:8]
        actors = ActorClient(settings)
        await actors.ping_all(timeout_s=60)

        async def hot_sku_runs(label: str, seconds: float) -> tuple[RunResult, RunResult]:
            hot = (await _seed_products(pool, 1))[0]

            async def via_actor(i: int) -> None:
                await actors.ask("product", hot, Reserve(f"bench-{run_id}-{hot[:8]}-{i}", 1))

            before = await _product_batches(actors, hot)
            actor = await closed_loop(f"{label}hot SKU, ProductActor", via_actor,
                                      concurrency=concurrency, count=count, duration_s=seconds)
            batched = await _product_batches(actors, hot) - before
            batch_sizes.append(round(batched["messages"] / batched["batches"], 1) if batched["batches"] else 0.0)
            row_id = await _hot_row_table(pool)

            async def via_hot_row(i: int) -> None:
                async with pool.connection() as conn:
                    cur = await conn.execute(
                        "UPDATE bench_hot_row SET available = available - %s WHERE id = %s AND available >= %s",
                        (1, row_id, 1),
                    )
                    await conn.commit()
                    if cur.rowcount != 1:
                        raise RuntimeError("out of stock")

            hot_row = await closed_loop(f"{label}hot SKU, UPDATE per reservation", via_hot_row,
                                        concurrency=concurrency, count=count, duration_s=seconds)
            return actor, hot_row

        # Not measured: the first seconds of a fresh shard and a fresh pool are slower
        # (connections opening, first activations), and would count against round 1 only.
        if warmup_s > 0:
            await hot_sku_runs("warm-up: ", warmup_s)
            batch_sizes.clear()
        for n in range(1, rounds + 1):
            actor, hot_row = await hot_sku_runs(f"round {n}: " if rounds > 1 else "", duration_s)
            results += [actor, hot_row]
            pairs.append((actor, hot_row))

        many = await _seed_products(pool, skus)
        many_sku: dict[str, float] = {}
        for shards in shard_counts:
            client = ActorClient(settings.model_copy(update={"actor_shards": shards, "hot_keys": {}}))
            await client.ping_all(timeout_s=60)

            async def spread(i: int, client=client, shards=shards) -> None:
                product = random.choice(many)
                await client.ask("product", product, Reserve(f"bench-{run_id}-m{shards}-{i}", 1))

            result = await closed_loop(f"{skus} SKUs, {shards} shard(s)", spread,
                                       concurrency=concurrency, count=count, duration_s=duration_s)
            results.append(result)
            many_sku[str(shards)] = round(result.rps, 1)
    finally:
        await pool.close()

    ratios = [round(actor.rps / hot_row.rps, 2) if hot_row.rps else None for actor, hot_row in pairs]
    known = [r for r in ratios if r is not None]

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 1)

    return {
        "rows": [r.summary() | {"name": r.name} for r in results],
        "actor_rps": median([actor.rps for actor, _ in pairs]),
        "hot_row_rps": median([hot_row.rps for _, hot_row in pairs]),
        "ratio": round(statistics.median(known), 2) if known else None,
        "ratios": ratios,
        "actor_batch_sizes": batch_sizes,
        "many_sku_rps_by_shards": many_sku,
        "concurrency": concurrency, "skus": skus, "duration_s": duration_s, "count": count, "rounds": rounds,
        "warmup_s": warmup_s,
        "actor_p99_ms": statistics.median(actor.percentile_ms(99) for actor, _ in pairs),
        "hot_row_p99_ms": statistics.median(hot_row.percentile_ms(99) for _, hot_row in pairs),
    }


def print_report(report: dict) -> None:
    print(f"{'run':<36} {'ok':>8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}  errors")
    for row in report["rows"]:
        print(f"{row['name']:<36} {row['ok']:>8} {row['rps']:>10.1f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f}  "
              f"{row['errors'] or ''}")
    of = f" (median of {report['rounds']} rounds: {report['ratios']})" if report["rounds"] > 1 else ""
    print(f"reservations per ProductActor batch: {report['actor_batch_sizes']} ({report['concurrency']} clients)")
    print(f"ratio actor / hot row: {report['ratio']}x{of} (target >= 5)")
    summary = {k: v for k, v in report.items() if k != "rows"}
    print(json.dumps(summary))


def main(settings: Settings, *, concurrency: int, count: int, duration_s: float, skus: int, rounds: int = 1,
         warmup_s: float = 3.0) -> int:
    report = asyncio.run(run(settings, concurrency=concurrency, count=count, duration_s=duration_s, skus=skus,
                             rounds=rounds, warmup_s=warmup_s))
    print_report(report)
    return 0
