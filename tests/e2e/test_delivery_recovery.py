"""The simulated courier lives in PostgreSQL: more simulators, or a killed worker, take each step once."""

from __future__ import annotations

import asyncio

import psycopg
import ray

from actors.delivery.service import shipment_id_for
from actors.delivery.simulator import CourierSimulator
from actors.orders.model import Paid
from actors.runtime.client import ActorClient
from storage.pool import open_pool
from tests.factories import make_product
from tests.helpers import eventually, users_with_tokens

STEPS = ["DELIVERY_STARTED", "DELIVERY_COURIERED_PARTNER", "DELIVERY_COMPLETED"]


async def paid_order(system, http) -> tuple[str, dict]:
    product = await make_product(system.settings.database_url, stock=1)
    (_, headers), = await users_with_tokens(system, "shopper", 1)
    order_id = http.post("/api/orders", headers=headers,
                         json={"items": [{"product_id": product, "quantity": 1}]}).json()["id"]
    await ActorClient(system.settings).ask("order", order_id, Paid(f"pay-{order_id}"))
    return order_id, headers


async def query(system, sql: str, *params) -> list[tuple]:
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        return await (await conn.execute(sql, params)).fetchall()


async def delivery_events(system, order_id: str) -> list[str]:
    rows = await query(system, "SELECT type FROM outbox WHERE aggregate_id = %s ORDER BY sequence",
                       str(shipment_id_for(order_id)))
    return [r[0] for r in rows]


def completed(http, order_id: str, headers: dict) -> bool:
    return http.get(f"/api/orders/{order_id}", headers=headers).json()["status"] == "COMPLETED"


async def test_several_simulators_on_one_table_take_each_step_once(system, http):
    pool = await open_pool(system.settings.database_url, max_size=3)
    simulators = [CourierSimulator(pool, delivery_delay_s=system.settings.courier_delivery_delay_s) for _ in range(3)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(s.run(stop)) for s in simulators]  # beside the deployed one
    try:
        order_id, headers = await paid_order(system, http)
        await eventually(lambda: completed(http, order_id, headers), timeout_s=60)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await pool.close()
    assert await delivery_events(system, order_id) == STEPS


def delivery_replicas() -> set[str]:
    return {a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if "#Worker_delivery#" in a["name"]}


async def test_a_killed_delivery_worker_resumes_from_the_stored_due_times(system, http):
    order_id, headers = await paid_order(system, http)
    await eventually(lambda: query(system, "SELECT 1 FROM shipments WHERE order_id = %s", order_id))
    (replica,) = delivery_replicas()
    ray.kill(ray.get_actor(replica, namespace="serve"), no_restart=True)  # Serve starts a new replica
    await eventually(lambda: delivery_replicas() - {replica}, timeout_s=90)
    await eventually(lambda: completed(http, order_id, headers), timeout_s=90)
    assert await delivery_events(system, order_id) == STEPS
    # The new replica's consumer opens shipments too.
    after, after_headers = await paid_order(system, http)
    await eventually(lambda: completed(http, after, after_headers), timeout_s=60)
