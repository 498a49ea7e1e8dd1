"""Figures of a run: throughput, latency percentiles (HdrHistogram), errors, timeline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from hdrh.histogram import HdrHistogram

from serve_app.loadtest.model import CREATED, OUT_OF_STOCK, Attempt
from serve_app.loadtest.schedule import bucket_width

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
LOWEST_US, HIGHEST_US = 1, 600_000_000  # 1 µs .. 10 min; longer is recorded as 10 min


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, 3)


def histogram_of(latencies_s: Iterable[float]) -> HdrHistogram:
    histogram = new_histogram()
    for seconds in latencies_s:
        histogram.record_value(min(HIGHEST_US, max(LOWEST_US, round(seconds * 1e6))))
    return histogram


def percentiles_ms(histogram: HdrHistogram, percentiles: Iterable[float] = PERCENTILES) -> dict[str, float]:
    """{"p50": ms, ..., "p99.9": ms, "max": ms}; zeros for an empty histogram."""
    out = {f"p{p:g}": round(histogram.get_value_at_percentile(p) / 1000, 3) for p in percentiles}
    out["max"] = round(histogram.get_max_value() / 1000, 3)
    return out


def error_breakdown(attempts: Iterable[Attempt]) -> dict[str, dict[str, int]]:
    """Final answers by status/code, and every answer including retried ones."""
    final, every = Counter(), Counter()
    for attempt in attempts:
        if attempt.final is not None:
            final[attempt.final.label] += 1
        every.update(t.label for t in attempt.tries)
    return {"final": dict(final.most_common()), "all_tries": dict(every.most_common())}


def summarize(attempts: list[Attempt], elapsed_s: float) -> dict:
    outcomes = Counter(a.outcome for a in attempts)
    served = outcomes[CREATED] + outcomes[OUT_OF_STOCK]
    latency = percentiles_ms(histogram_of(a.latency_s for a in attempts if a.served))
    return {
        "attempts": len(attempts),
        "created": outcomes[CREATED],
        "out_of_stock": outcomes[OUT_OF_STOCK],
        "unresolved": len(attempts) - served,
        "retried_attempts": sum(1 for a in attempts if len(a.tries) > 1),
        "elapsed_s": round(elapsed_s, 3),
        "served_rps": round(served / elapsed_s, 1) if elapsed_s else 0.0,
        "latency_ms": latency,
        "errors": error_breakdown(attempts),
    }


def timeline(attempts: list[Attempt], elapsed_s: float) -> list[dict]:
    """Per bucket of finish time: served per second (201s and 409s apart) and p50/p99 latency."""
    width = bucket_width(elapsed_s)
    buckets: dict[int, list[Attempt]] = {}
    for attempt in attempts:
        if attempt.served:
            buckets.setdefault(int(attempt.finished_s // width), []).append(attempt)
    rows = []
    for index in range(int(elapsed_s // width) + 1 if attempts else 0):
        done = buckets.get(index, [])
        figures = percentiles_ms(histogram_of(a.latency_s for a in done), (50.0, 99.0))
        rows.append({
            "t_s": round(index * width, 3),
            "created_per_s": round(sum(a.outcome == CREATED for a in done) / width, 1),
            "out_of_stock_per_s": round(sum(a.outcome == OUT_OF_STOCK for a in done) / width, 1),
            "p50_ms": figures["p50"] if done else None,
            "p99_ms": figures["p99"] if done else None,
        })
    return rows
