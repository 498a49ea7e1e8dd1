"""`commerce bench reservations` at a tiny size against the session's system: both paths
reserve durably, and with rounds the headline is the median of interleaved pairs."""

from __future__ import annotations

import statistics

import pytest

from serve_app.bench import reservations


async def test_a_tiny_benchmark_reports_every_round_and_the_median_ratio(system):
    report = await reservations.run(system.settings, concurrency=4, count=40, duration_s=10, skus=3, rounds=2,
                                    shard_counts=(1,), warmup_s=0.5)

    names = [row["name"] for row in report["rows"]]  # the warm-up is not among them
    assert names == ["round 1: hot SKU, ProductActor", "round 1: hot SKU, UPDATE per reservation",
                     "round 2: hot SKU, ProductActor", "round 2: hot SKU, UPDATE per reservation", "3 SKUs, 1 shard(s)"]
    assert all(row["ok"] == 40 and not row["errors"] for row in report["rows"]), report["rows"]
    rows = report["rows"]
    pairs = [(rows[0]["rps"], rows[1]["rps"]), (rows[2]["rps"], rows[3]["rps"])]
    assert report["ratios"] == [pytest.approx(a / b, abs=0.01) for a, b in pairs]
    assert report["ratio"] == pytest.approx(statistics.median(report["ratios"]), abs=0.01)
    assert report["actor_rps"] == pytest.approx(statistics.median(a for a, _ in pairs), abs=0.2)
    assert report["rounds"] == 2 and set(report["many_sku_rps_by_shards"]) == {"1"}
    # 4 clients: the ProductActor's batches hold 1 to 4 reservations, measured per round on its shard.
    assert len(report["actor_batch_sizes"]) == 2 and all(1 <= size <= 4 for size in report["actor_batch_sizes"])
