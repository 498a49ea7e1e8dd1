"""A closed-loop load driver: N workers, bounded by count and time, with latency."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram


@dataclass
class RunResult:
    name: str
    ok: int = 0
    errors: Counter = field(default_factory=Counter)
    elapsed_s: float = 0.0
    latency: HdrHistogram = field(default_factory=lambda: HdrHistogram(1, 60_000_000, 3))  # microseconds

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def percentile_ms(self, p: float) -> float:
        return self.latency.get_value_at_percentile(p) / 1000

    def summary(self) -> dict:
        return {
            "ok": self.ok, "errors": dict(self.errors), "seconds": round(self.elapsed_s, 2),
            "rps": round(self.rps, 1), "p50_ms": self.percentile_ms(50), "p99_ms": self.percentile_ms(99),
        }


async def closed_loop(
    name: str, operation: Callable[[int], Awaitable[None]], *, concurrency: int, count: int, duration_s: float,
) -> RunResult:
    """Run `operation(i)` for i in 0..count-1 from `concurrency` workers, stopping at `duration_s`."""
    result = RunResult(name)
    next_index = 0
    deadline = time.monotonic() + duration_s

    async def worker() -> None:
        nonlocal next_index
        while next_index < count and time.monotonic() < deadline:
            index = next_index
            next_index += 1
            started = time.perf_counter()
            try:
                await operation(index)
                result.ok += 1
                result.latency.record_value(max(1, int((time.perf_counter() - started) * 1e6)))
            except Exception as exc:
                result.errors[getattr(exc, "code", type(exc).__name__)] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed_s = time.perf_counter() - started
    return result
