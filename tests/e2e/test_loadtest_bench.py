"""`commerce bench flash-sale` at a tiny size against the session's system: every run is served
and audited, with each load generator; the peer's audit catches tampered books."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import psycopg
import pytest

from serve_app.bench import flash_sale, peer, wrk
from serve_app.bench.load import Load

needs_wrk = pytest.mark.skipif(wrk.available() is None, reason="wrk is not installed (apt-get install wrk)")
TINY = flash_sale.Params(stock=20, attempts=100, concurrency=10, shoppers=5, duration_s=60, peer_workers=(1,),
                         peer_pool=4, warmup=20)  # the warm-up is not among the rows


@pytest.mark.parametrize("driver", ["builtin", pytest.param("wrk", marks=needs_wrk)])
async def test_a_tiny_benchmark_serves_every_run_and_passes_its_audits(system, driver):
    params = flash_sale.Params(**{**TINY.__dict__, "driver": driver})
    report = await asyncio.to_thread(flash_sale.run, system, params)

    assert report["driver"] == driver
    ceiling, peer_row, mine = report["rows"]
    assert ceiling["served"] == 100 and not ceiling["checkout"]
    for row in (peer_row, mine):
        assert (row["created"], row["out_of_stock"], row["served"]) == (20, 80, 100), row
    assert report["audit_ok"], report["audits"]
    assert {c["name"] for c in report["audits"]["system"]} >= {"no oversell", "stock conserved"}
    assert report["oversold_units"] == report["lost_orders"] == 0
    assert report["ratio_vs_peer"] == pytest.approx(report["system_rps"] / report["peer_rps"], rel=0.01)
    for key in ("ceiling_rps", "peer_rps", "system_rps", "ratio_vs_ceiling", "system_p99_ms", "system_p999_ms"):
        assert report[key] and report[key] > 0, key
    assert 0 < report["selling_phase_s"] < mine["seconds"]  # the 20 sales took part of the run


async def test_rounds_repeat_every_run_and_report_the_medians(system):
    params = flash_sale.Params(**{**TINY.__dict__, "driver": "builtin", "rounds": 2})
    report = await asyncio.to_thread(flash_sale.run, system, params)

    assert [row["name"][:8] for row in report["rows"]] == ["round 1:"] * 3 + ["round 2:"] * 3
    assert len(report["rounds"]) == 2 and report["audit_ok"], report["audits"]
    assert set(Counter(check["name"] for check in report["audits"]["system"]).values()) == {2}  # each round's audit
    for key in ("system_rps", "ratio_vs_peer", "ratio_vs_ceiling", "system_p99_ms"):
        values = sorted(r[key] for r in report["rounds"])
        assert report[key] == pytest.approx(sum(values) / 2, abs=0.002), key  # the median of two
    assert report["system_created"] == 2 * TINY.stock and report["oversold_units"] == report["lost_orders"] == 0
    # Between the rounds the bench waited for the event workers to catch up; after the last, not.
    assert report["rounds"][0]["events_settled_s"] >= 0 and report["rounds"][1]["events_settled_s"] is None
    assert report["events_settled_before_s"] >= 0  # an earlier test's events were waited for, bounded


def run_peer(dsn: str, workdir, stock: int, count: int) -> tuple[str, int]:
    product = asyncio.run(peer.new_product(dsn, stock))
    secret = peer.new_secret()
    with peer.running(dsn, secret, workers=1, pool_size=4) as url:
        row = Load(8, 60, workdir, "builtin").checkouts(
            "peer", url, product_id=product, tokens=peer.tokens(secret, 3), run_id=uuid.uuid4().hex, count=count)
    return product, row.created


async def test_the_peer_audit_catches_a_unit_sold_twice(system, tmp_path):
    dsn = system.settings.database_url
    product, created = await asyncio.to_thread(run_peer, dsn, tmp_path, 10, 40)
    assert created == 10
    assert all(c.ok for c in await peer.audit(dsn, product, stock=10, created=created, demand=40))

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute("UPDATE peer_stock SET available = available + 1 WHERE product_id = %s", (product,))
    failed = {c.name for c in await peer.audit(dsn, product, stock=10, created=created, demand=40) if not c.ok}
    assert failed == {"stock conserved"}
