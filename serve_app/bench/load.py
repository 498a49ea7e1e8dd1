"""One load generator for every run of the flash-sale benchmark: wrk when installed, else the
load tester's own async driver (closed model). Both report the same `Row`."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from serve_app.bench import wrk
from serve_app.loadtest.client import Api, Checkout, new_session
from serve_app.loadtest.engine import closed_loop
from serve_app.loadtest.model import CREATED, OUT_OF_STOCK, Attempt, Try
from serve_app.loadtest.stats import histogram_of, percentiles_ms


@dataclass
class Row:
    name: str
    served: int  # answered for good: 200 for the ceiling; 201 or 409 for a checkout
    elapsed_s: float
    latency_ms: dict[str, float]
    created: int = 0
    out_of_stock: int = 0
    other: dict[str, int] = field(default_factory=dict)
    attempts: list[Attempt] | None = None  # the built-in driver's per-attempt record (for the full audit)
    complete: bool = True  # False: stopped by --duration before every attempt was answered
    checkout: bool = True  # False: the ceiling's GETs
    requested: int = 0  # requests the run was to send

    @property
    def demand(self) -> int:
        """Checkouts sent: all when the run completed; cut short, only those answered are known."""
        if self.attempts is not None:
            return len(self.attempts)
        return self.requested if self.complete else self.served + sum(self.other.values())

    @property
    def rps(self) -> float:
        return self.served / self.elapsed_s if self.elapsed_s else 0.0

    def summary(self) -> dict:
        return {"name": self.name, "served": self.served, "created": self.created,
                "out_of_stock": self.out_of_stock, "other": self.other, "seconds": round(self.elapsed_s, 3),
                "rps": round(self.rps, 1), "latency_ms": self.latency_ms, "complete": self.complete,
                "checkout": self.checkout}


@dataclass
class Load:
    concurrency: int
    duration_s: float
    workdir: Path
    driver: str = "auto"  # auto | wrk | builtin
    timeout_s: float = 30.0

    @property
    def uses_wrk(self) -> bool:
        return self.driver == "wrk" or (self.driver == "auto" and wrk.available() is not None)

    @property
    def threads(self) -> int:
        return 2 if self.concurrency >= 2 else 1

    def get(self, name: str, url: str, count: int) -> Row:
        if self.uses_wrk:
            r = wrk.get(url, count=count, threads=self.threads, connections=self.concurrency,
                        duration_s=self.duration_s, workdir=self.workdir, timeout_s=self.timeout_s)
            served = r.count(200)
            return Row(name, served, r.elapsed_s, r.latency_ms, other=_wrk_other(r, ok=(200,)),
                       complete=served >= count, checkout=False, requested=count)
        return asyncio.run(self._builtin_get(name, url, count))

    def checkouts(self, name: str, base_url: str, *, product_id: str, tokens: list[str], run_id: str,
                  count: int) -> Row:
        if self.uses_wrk:
            count -= count % self.threads
            r = wrk.checkouts(base_url, product_id=product_id, tokens=tokens, run_id=run_id, count=count,
                              threads=self.threads, connections=self.concurrency, duration_s=self.duration_s,
                              workdir=self.workdir, timeout_s=self.timeout_s)
            created, refused = r.count(201), r.count(409)
            return Row(name, created + refused, r.elapsed_s, r.latency_ms, created, refused,
                       _wrk_other(r, ok=(201, 409)), complete=sum(r.statuses.values()) >= count, requested=count)
        return asyncio.run(self._builtin_checkouts(name, base_url, product_id, tokens, run_id, count))

    async def _builtin_get(self, name: str, url: str, count: int) -> Row:
        async with new_session(self.concurrency) as session:
            api = Api(session, "", timeout_s=self.timeout_s)

            async def job(attempt: Attempt) -> None:
                status, body, _ = await api.call("GET", url)
                attempt.tries.append(Try(status, None if status else (body or {}).get("error", {}).get("code")))

            run = await closed_loop(job, lambda i: Attempt(i, "", 0), concurrency=self.concurrency, count=count,
                                    duration_s=self.duration_s)
        ok = [a for a in run.attempts if a.final and a.final.status == 200]
        other = Counter(a.final.label if a.final else "none" for a in run.attempts
                        if not (a.final and a.final.status == 200))
        return Row(name, len(ok), run.elapsed_s, percentiles_ms(histogram_of(a.latency_s for a in ok)),
                   other=dict(other), complete=len(run.attempts) >= count, checkout=False, requested=count)

    async def _builtin_checkouts(self, name: str, base_url: str, product_id: str, tokens: list[str], run_id: str,
                                 count: int) -> Row:
        async with new_session(self.concurrency) as session:
            job = Checkout(Api(session, base_url, timeout_s=self.timeout_s), product_id, tokens, max_tries=1)
            run = await closed_loop(job, lambda i: Attempt(i, f"bench-{run_id}-{i}", i % len(tokens)),
                                    concurrency=self.concurrency, count=count, duration_s=self.duration_s)
        outcomes = Counter(a.outcome for a in run.attempts)
        served = [a for a in run.attempts if a.served]
        other = Counter(a.final.label for a in run.attempts if not a.served)
        return Row(name, len(served), run.elapsed_s, percentiles_ms(histogram_of(a.latency_s for a in served)),
                   outcomes[CREATED], outcomes[OUT_OF_STOCK], dict(other), attempts=run.attempts,
                   complete=len(run.attempts) >= count, requested=count)


def _wrk_other(r: wrk.WrkResult, ok: tuple[int, ...]) -> dict[str, int]:
    other = {k: v for k, v in r.statuses.items() if int(k) not in ok}
    other.update({f"socket {k}": v for k, v in r.errors.items() if k != "status" and v})
    return other
