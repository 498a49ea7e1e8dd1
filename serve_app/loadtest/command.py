"""`commerce loadtest flash-sale`: set up a sale, race shoppers for it, audit, report.

Exit codes: 0 the audit passed, 1 an audit check failed, 3 the set-up failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from serve_app.loadtest import report
from serve_app.loadtest.audit import AuditReport, audit
from serve_app.loadtest.client import Api, Checkout, HttpAuditApi, new_session
from serve_app.loadtest.engine import Run, closed_loop, open_loop
from serve_app.loadtest.model import UNRESOLVED, Attempt, Observed
from serve_app.loadtest.options import Options, options_from
from serve_app.loadtest.schedule import open_schedule
from serve_app.loadtest.setup import Sale, SetupError, set_up
from serve_app.loadtest.stats import summarize, timeline

EXIT_AUDIT_FAILED = 1
EXIT_SETUP_FAILED = 3


@dataclass
class Result:
    sale: Sale
    observed: Observed
    audit: AuditReport
    data: dict  # everything the JSON file holds
    paths: tuple[Path, Path] | None = None


class Progress:
    """A live bar with the running 201 / 409 / unresolved counts."""

    def __init__(self, total: int, desc: str, enabled: bool, unit: str = "req"):
        # disable=None: tqdm stays quiet when stderr is not a terminal.
        self.bar = tqdm(total=total, desc=desc, unit=unit, disable=None if enabled else True, dynamic_ncols=True)
        self.counts: Counter = Counter()
        self.shown = 0.0

    def __call__(self, attempt: Attempt | None = None) -> None:
        if attempt is not None:
            self.counts[attempt.outcome] += 1
        self.bar.update()
        now = time.monotonic()
        if attempt is not None and now - self.shown > 0.25:
            self.shown = now
            self.bar.set_postfix(created=self.counts["created"], out_of_stock=self.counts["out_of_stock"],
                                 unresolved=self.counts[UNRESOLVED], refresh=False)

    def close(self) -> None:
        self.bar.close()


async def settle(job: Checkout, attempts: list[Attempt]) -> int:
    """Resend the attempts left without a final answer, same key: the first result, or the order's fate."""
    open_ = [a for a in attempts if a.outcome == UNRESOLVED and (a.final is None or a.final.status is None
                                                                   or a.final.status >= 500)]
    await asyncio.gather(*(job(a) for a in open_))
    return sum(1 for a in open_ if a.outcome != UNRESOLVED)


async def drive(options: Options, api: Api, sale: Sale) -> Run:
    job = Checkout(api, sale.product_id, sale.shopper_tokens, max_tries=options.max_tries)

    def new_attempt(i: int) -> Attempt:
        return Attempt(i, f"flash-{sale.run_id}-{i}", i % len(sale.shopper_tokens))

    planned = options.count if options.rate is None else len(open_schedule(options.rate, options.count,
                                                                             options.duration_s))
    progress = Progress(planned, "checkouts", options.progress)
    try:
        if options.rate is None:
            return await closed_loop(job, new_attempt, concurrency=options.concurrency, count=options.count,
                                     duration_s=options.duration_s, on_done=progress)
        return await open_loop(job, new_attempt, rate=options.rate, count=options.count,
                               duration_s=options.duration_s, max_in_flight=options.max_in_flight, on_done=progress)
    finally:
        progress.close()


async def run(options: Options) -> Result:
    """Set-up, load, audit; writes the JSON and HTML files when `out_dir` is set. SetupError if set-up fails."""
    async with new_session(options.concurrency) as session:
        api = Api(session, options.base_url, timeout_s=options.timeout_s)
        registering = Progress(options.shoppers, "shoppers", options.progress, unit="account")
        try:
            sale = await set_up(api, run_id=options.run_id, stock=options.stock, shoppers=options.shoppers,
                                category=options.category, admin_token=options.admin_token, on_shopper=registering)
        finally:
            registering.close()
        measured = await drive(options, api, sale)
        figures = summarize(measured.attempts, measured.elapsed_s)
        over_time = timeline(measured.attempts, measured.elapsed_s)
        late = await settle(Checkout(api, sale.product_id, sale.shopper_tokens, max_tries=options.max_tries),
                            measured.attempts)
        observed = Observed(sale.product_id, options.stock, 1, sale.shopper_tokens, measured.attempts,
                            measured.elapsed_s)
        verdict = await audit(observed, HttpAuditApi(api, sale.seller_token))
    data = {
        "scenario": "flash-sale",
        "run_id": options.run_id,
        "base_url": options.base_url,
        "model": "closed" if options.rate is None else "open",
        "load": f"{options.concurrency} concurrent" if options.rate is None else f"{options.rate:g} req/s",
        "started_at": datetime.fromtimestamp(measured.started_at, UTC).isoformat(),
        "options": options.public(),
        "setup": {"product_id": sale.product_id, "category": sale.category, "shoppers": len(sale.shopper_tokens)},
        "summary": figures,
        "settled_after_run": late,
        "timeline": over_time,
        "audit": verdict.as_dict(),
    }
    result = Result(sale, observed, verdict, data)
    if options.out_dir is not None:
        result.paths = report.write(data, options.out_dir)
    return result


def main(args: argparse.Namespace) -> int:
    options = options_from(args)
    if options.duration_s <= 0 or (options.rate is not None and options.rate <= 0):
        print("commerce: --duration and --rate must be positive", file=sys.stderr)
        return 2
    for name, value in (("--stock", options.stock), ("--shoppers", options.shoppers), ("--count", options.count),
                        ("--concurrency", options.concurrency), ("--max-tries", options.max_tries)):
        least = 0 if name == "--stock" else 1
        if value < least:
            print(f"commerce: {name} must be at least {least}", file=sys.stderr)
            return 2
    try:
        result = asyncio.run(run(options))
    except SetupError as exc:
        print(f"commerce: {exc}", file=sys.stderr)
        return EXIT_SETUP_FAILED
    for line in report.text_lines(result.data):
        print(line)
    if result.paths:
        print(f"wrote      : {result.paths[0]}  {result.paths[1]}")
    return 0 if result.audit.ok else EXIT_AUDIT_FAILED
