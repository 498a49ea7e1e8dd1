"""Options of `commerce loadtest flash-sale`, kept light: the CLI builds its parser from them
without importing the load tester itself."""

from __future__ import annotations

import argparse
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Options:
    base_url: str = "http://127.0.0.1:8000"
    stock: int = 1000
    shoppers: int = 200
    count: int = 20_000
    duration_s: float = 60.0
    concurrency: int = 200  # workers (closed model) or connections (open model)
    rate: float | None = None  # set: open model at this many checkouts per second
    max_in_flight: int = 10_000
    category: str | None = None
    admin_token: str | None = field(default=None, repr=False)
    timeout_s: float = 10.0
    max_tries: int = 5
    out_dir: Path | None = Path("bench-results")
    progress: bool = True
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    def public(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items() if k != "admin_token"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = Options()
    parser.add_argument("--base-url", default=d.base_url, help="the API to load (default %(default)s)")
    parser.add_argument("--stock", type=int, default=d.stock, help="units of the hot product (default %(default)s)")
    parser.add_argument("--shoppers", type=int, default=d.shoppers, help="shopper accounts (default %(default)s)")
    parser.add_argument("--count", type=int, default=d.count, help="max checkout attempts (default %(default)s)")
    parser.add_argument("--duration", type=float, default=d.duration_s,
                        help="max seconds of load (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=d.concurrency,
                        help="closed model: concurrent shoppers; open model: max connections (default %(default)s)")
    parser.add_argument("--rate", type=float, default=None,
                        help="open model: checkouts per second, latency from the intended send time")
    parser.add_argument("--category", default=None, help="an existing category slug for the product")
    parser.add_argument("--admin-token", default=None, help="an admin's access token, to create a category")
    parser.add_argument("--timeout", type=float, default=d.timeout_s,
                        help="seconds to wait for an answer, per try (default %(default)s)")
    parser.add_argument("--max-tries", type=int, default=d.max_tries,
                        help="tries per checkout on a timeout or 503, same Idempotency-Key (default %(default)s)")
    parser.add_argument("--out", type=Path, default=d.out_dir,
                        help="directory for the JSON and HTML report (default %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        base_url=args.base_url, stock=args.stock, shoppers=args.shoppers, count=args.count, duration_s=args.duration,
        concurrency=args.concurrency, rate=args.rate, category=args.category, admin_token=args.admin_token,
        timeout_s=args.timeout, max_tries=args.max_tries, out_dir=args.out, progress=not args.no_progress,
    )
