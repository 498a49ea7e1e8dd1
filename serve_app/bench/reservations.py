"""`commerce bench reservations`: durable reservations per second.

Same run, same PostgreSQL, same client concurrency:
(a) one hot SKU through its ProductActor (group commit, micro-batched calls);
(b) the same hot SKU as one `UPDATE ... WHERE available >= q` transaction per
    reservation, the way a plain service would do it;
then many SKUs spread over 1, 2 and 4 shards. Both paths commit durably
(synchronous_commit on) before a reservation counts.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid

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


async def run(settings: Settings, *, concurrency: int, count: int, duration_s: float, skus: int) -> dict:
    pool = await open_pool(settings.database_url, max_size=concurrency + 2, name="bench")
    results: list[RunResult] = []
    try:
        run_id = uuid.uuid4().hex[:8]
        hot = (await _seed_products(pool, 1))[0]
        actors = ActorClient(settings)
        await actors.ping_all(timeout_s=60)

        async def via_actor(i: int) -> None:
            await actors.ask("product", hot, Reserve(f"bench-{run_id}-a-{i}", 1))

        results.append(await closed_loop("hot SKU, ProductActor", via_actor,
                                         concurrency=concurrency, count=count, duration_s=duration_s))

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

        results.append(await closed_loop("hot SKU, UPDATE per reservation", via_hot_row,
                                         concurrency=concurrency, count=count, duration_s=duration_s))

        many = await _seed_products(pool, skus)
        many_sku: dict[str, float] = {}
        for shards in (1, 2, 4):
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

    actor, hot_row = results[0], results[1]
    return {
        "rows": [r.summary() | {"name": r.name} for r in results],
        "actor_rps": round(actor.rps, 1),
        "hot_row_rps": round(hot_row.rps, 1),
        "ratio": round(actor.rps / hot_row.rps, 2) if hot_row.rps else None,
        "many_sku_rps_by_shards": many_sku,
        "concurrency": concurrency, "skus": skus, "duration_s": duration_s, "count": count,
        "actor_p99_ms": actor.percentile_ms(99), "hot_row_p99_ms": hot_row.percentile_ms(99),
    }


def print_report(report: dict) -> None:
    print(f"{'run':<36} {'ok':>8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}  errors")
    for row in report["rows"]:
        print(f"{row['name']:<36} {row['ok']:>8} {row['rps']:>10.1f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f}  "
              f"{row['errors'] or ''}")
    print(f"ratio actor / hot row: {report['ratio']}x (target >= 5)")
    summary = {k: v for k, v in report.items() if k != "rows"}
    print(json.dumps(summary))


def main(settings: Settings, *, concurrency: int, count: int, duration_s: float, skus: int) -> int:
    report = asyncio.run(run(settings, concurrency=concurrency, count=count, duration_s=duration_s, skus=skus))
    print_report(report)
    return 0
