"""`commerce bench flash-sale`: checkouts per second of this system against a plain peer and
against the Serve ceiling, in one run, on one machine, with one load generator.

(a) the Serve ceiling: `GET /healthz` on the same Serve ingress (no work behind it);
(b) the peer: FastAPI on uvicorn with a psycopg pool, one conditional UPDATE plus an order
    insert per checkout, on the same PostgreSQL; best of 1 and 2 uvicorn workers;
(c) this system: `POST /api/orders` for one hot product.

Each run makes `--attempts` requests from `--concurrency` clients (wrk when installed, else the
load tester's async driver). A 409 out_of_stock is a served request: with 20,000 attempts on
1,000 units most checkouts are. Every checkout run is audited (no oversell, no lost order).

With `--rounds N` the three runs are repeated N times, interleaved (a, b, c, a, b, c, ...), and
the headline figures are the medians of the rounds: on a shared machine one run proves little.
Between rounds the bench waits (bounded) for the event workers to finish the last run's orders.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from config import Settings
from events.admin import event_backlog
from events.stream import connect as connect_nats
from serve_app.bench import peer
from serve_app.bench.load import Load, Row
from serve_app.loadtest.audit import NOT_PLACED, Check, audit, check_conservation, check_held, check_successes
from serve_app.loadtest.client import Api, Checkout, HttpAuditApi, new_session
from serve_app.loadtest.command import settle
from serve_app.loadtest.model import Observed
from serve_app.loadtest.setup import DEFAULT_CATEGORY, Sale, set_up

TARGETS = {"ratio_vs_peer": 1.2, "ratio_vs_ceiling": 0.75, "system_p99_ms": 150}


@dataclass
class Params:
    stock: int = 1000
    attempts: int = 20_000
    concurrency: int = 200
    shoppers: int = 200
    duration_s: float = 120.0
    driver: str = "auto"
    peer_workers: tuple[int, ...] = (1, 2)
    peer_pool: int = 16
    rounds: int = 1
    settle_timeout_s: float = 120.0  # between rounds: wait for the event workers to catch up, at most this long
    warmup: int = 2000  # GET /healthz requests first, not measured: the ingress's first seconds are slower


def bench_settings(settings: Settings) -> Settings:
    """Free loopback ports for the HTTP ingress and HAProxy's stats, so a running `commerce up` is left alone."""
    return settings.model_copy(update={"http_port": peer.free_port(), "haproxy_stats_port": peer.free_port(),
                                       "haproxy_metrics_port": peer.free_port()})


async def _sale(system, params: Params) -> Sale:
    async with await psycopg.AsyncConnection.connect(system.settings.database_url, autocommit=True) as conn:
        await conn.execute("INSERT INTO categories (slug, name) VALUES (%s, 'Flash sale') ON CONFLICT DO NOTHING",
                           (DEFAULT_CATEGORY,))
    async with new_session(16) as session:
        return await set_up(Api(session, system.base_url), run_id=uuid.uuid4().hex[:10], stock=params.stock,
                            shoppers=params.shoppers, category=DEFAULT_CATEGORY)


async def _audit_system(base_url: str, sale: Sale, row: Row, params: Params) -> tuple[list[Check], dict]:
    async with new_session(32) as session:
        api = Api(session, base_url, timeout_s=30)
        books = HttpAuditApi(api, sale.seller_token)
        if row.attempts is not None:  # the built-in driver saw every answer: the load tester's full audit
            await settle(Checkout(api, sale.product_id, sale.shopper_tokens), row.attempts)
            observed = Observed(sale.product_id, params.stock, 1, sale.shopper_tokens, row.attempts)
            checks = list((await audit(observed, books)).checks)
            created = len(observed.created())
        else:  # wrk: counts only
            created, checks = row.created, []
        figures = await books.stock(sale.product_id)
        placed = [o for o in await books.orders_with(sale.product_id) if o.get("status") not in NOT_PLACED]
    if row.attempts is None:
        checks = [
            check_successes(created, row.demand, params.stock),
            check_conservation(figures, params.stock),
            check_held(figures, created, created, what="201 answers"),
            Check("seller's orders == 201 answers", len(placed) == created,
                  f"{len(placed)} placed order(s) listed, {created} 201 answer(s)"),
        ]
    books_figures = {"oversold_units": max(0, figures["reserved"] + figures["sold"] - created),
                     "lost_orders": max(0, created - len(placed)), "selling_phase_s": selling_phase_s(placed)}
    return checks, books_figures


def selling_phase_s(placed: list[dict]) -> float | None:
    """From the first placed order to the last: the phase whose waits make the tail."""
    times = sorted(datetime.fromisoformat(o["created_at"]) for o in placed if o.get("created_at"))
    return round((times[-1] - times[0]).total_seconds(), 2) if len(times) > 1 else None


@dataclass
class Round:
    ceiling: Row
    peers: list[tuple[Row, list[Check]]]
    best_peer: int  # index into peers
    system: Row
    system_checks: list[Check]
    books: dict
    settled_s: float | None = None  # waited after this round for the event backlog to clear (None: last round)

    @property
    def peer(self) -> Row:
        return self.peers[self.best_peer][0]

    def figures(self) -> dict:
        system_latency = {f"system_{p.replace('.', '')}_ms": self.system.latency_ms[p]
                          for p in ("p50", "p90", "p99", "p99.9")}
        return {"ceiling_rps": round(self.ceiling.rps, 1), "peer_rps": round(self.peer.rps, 1),
                "system_rps": round(self.system.rps, 1), "ratio_vs_peer": _ratio(self.system.rps, self.peer.rps),
                "ratio_vs_ceiling": _ratio(self.system.rps, self.ceiling.rps), **system_latency,
                "peer_p99_ms": self.peer.latency_ms["p99"], "ceiling_p99_ms": self.ceiling.latency_ms["p99"],
                **self.books, "events_settled_s": self.settled_s}


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def _round(system, params: Params, load: Load, label: str) -> Round:
    dsn = system.settings.database_url
    ceiling = load.get(f"{label}(a) Serve ceiling: GET /healthz", f"{system.base_url}/healthz", params.attempts)

    secret = peer.new_secret()
    peer_tokens = peer.tokens(secret, params.shoppers)
    peers: list[tuple[Row, list[Check]]] = []
    for workers in params.peer_workers:
        product = asyncio.run(peer.new_product(dsn, params.stock))
        with peer.running(dsn, secret, workers=workers, pool_size=params.peer_pool) as url:
            row = load.checkouts(f"{label}(b) peer, {workers} uvicorn worker(s)", url, product_id=product,
                                 tokens=peer_tokens, run_id=uuid.uuid4().hex[:8], count=params.attempts)
        checks = asyncio.run(peer.audit(dsn, product, stock=params.stock, created=row.created, demand=row.demand))
        peers.append((row, list(checks)))
    best = max(range(len(peers)), key=lambda i: peers[i][0].rps)

    sale = asyncio.run(_sale(system, params))
    mine = load.checkouts(f"{label}(c) this system: POST /api/orders", system.base_url, product_id=sale.product_id,
                          tokens=sale.shopper_tokens, run_id=sale.run_id, count=params.attempts)
    system_checks, books = asyncio.run(_audit_system(system.base_url, sale, mine, params))
    return Round(ceiling, peers, best, mine, system_checks, books)


async def _settle_events(settings: Settings, timeout_s: float) -> float:
    """Wait until the event workers have handled what the last run produced (its orders'
    payments, mails, deliveries), so that they do not run during the next round; bounded."""
    started = time.monotonic()
    nc = await connect_nats(settings.nats_url, name="bench-settle")
    try:
        async with await psycopg.AsyncConnection.connect(settings.database_url, autocommit=True) as conn:
            while await event_backlog(conn, nc) and time.monotonic() - started < timeout_s:
                await asyncio.sleep(0.5)
    finally:
        await nc.close()
    return round(time.monotonic() - started, 1)


def run(system, params: Params) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-flash-"))
    load = Load(params.concurrency, params.duration_s, workdir, params.driver)
    try:
        # A reused state dir brings an earlier run's unhandled events (its last round's
        # payments, mails, deliveries): let the workers finish them before measuring.
        settled_before_s = asyncio.run(_settle_events(system.settings, params.settle_timeout_s))
        if params.warmup:
            load.get("warm-up", f"{system.base_url}/healthz", params.warmup)
        rounds = []
        for i in range(params.rounds):
            if rounds:
                rounds[-1].settled_s = asyncio.run(_settle_events(system.settings, params.settle_timeout_s))
            rounds.append(_round(system, params, load, f"round {i + 1}: " if params.rounds > 1 else ""))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    per_round = [r.figures() for r in rounds]

    def median(key: str) -> float | None:
        values = [f[key] for f in per_round if f[key] is not None]
        return round(statistics.median(values), 3) if values else None

    peer_checks = [check for r in rounds for _, checks in r.peers for check in checks]
    system_checks = [check for r in rounds for check in r.system_checks]
    return {
        "rows": [row.summary() for r in rounds for row in (r.ceiling, *(p for p, _ in r.peers), r.system)],
        "audits": {"peer": [c.__dict__ for c in peer_checks], "system": [c.__dict__ for c in system_checks]},
        "rounds": per_round,
        **{key: median(key) for key in per_round[0]
           if key not in ("oversold_units", "lost_orders", "events_settled_s")},
        "peer_workers": params.peer_workers[rounds[-1].best_peer],
        "system_created": sum(r.system.created for r in rounds),
        "system_out_of_stock": sum(r.system.out_of_stock for r in rounds),
        "oversold_units": sum(f["oversold_units"] for f in per_round),
        "lost_orders": sum(f["lost_orders"] for f in per_round),
        "audit_ok": all(c.ok for c in system_checks + peer_checks),
        "driver": "wrk" if load.uses_wrk else "builtin",
        "attempts": params.attempts, "concurrency": params.concurrency, "stock": params.stock,
        "shoppers": params.shoppers, "warmup": params.warmup, "events_settled_before_s": settled_before_s,
    }


def print_report(report: dict) -> None:
    print(f"{'run':<38} {'served':>7} {'201':>6} {'409':>6} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
          f"{'p99.9 ms':>9}  other")
    for row in report["rows"]:
        lat = row["latency_ms"]
        created, refused = (row["created"], row["out_of_stock"]) if row["checkout"] else ("-", "-")
        print(f"{row['name']:<38} {row['served']:>7} {created:>6} {refused:>6} "
              f"{row['rps']:>9,.1f} {lat['p50']:>8.1f} {lat['p90']:>8.1f} {lat['p99']:>8.1f} {lat['p99.9']:>9.1f}  "
              f"{row['other'] or ''}{'' if row['complete'] else '  (cut short by --duration)'}")
    print(f"driver {report['driver']}; {report['attempts']} attempts per run, {report['concurrency']} concurrent; "
          f"hot product {report['stock']} units; peer best with {report['peer_workers']} worker(s); "
          f"waited {report['events_settled_before_s']} s first for earlier events to be handled")
    rounds = report["rounds"]
    if len(rounds) > 1:
        for i, figures in enumerate(rounds, start=1):
            settled = figures["events_settled_s"]
            print(f"round {i}: system / peer {figures['ratio_vs_peer']}, system / ceiling "
                  f"{figures['ratio_vs_ceiling']}, system p99 {figures['system_p99_ms']} ms, "
                  f"sales made in {figures['selling_phase_s']} s"
                  + (f"; event workers caught up {settled} s later" if settled is not None else ""))
    of = f" (median of {len(rounds)} rounds)" if len(rounds) > 1 else ""
    print(f"ratio system / peer    : {report['ratio_vs_peer']}{of} (target >= {TARGETS['ratio_vs_peer']})")
    print(f"ratio system / ceiling : {report['ratio_vs_ceiling']}{of} (target >= {TARGETS['ratio_vs_ceiling']})")
    print(f"system p99             : {report['system_p99_ms']} ms{of} (target <= {TARGETS['system_p99_ms']} ms)")
    print(f"sales made in          : {report['selling_phase_s']} s{of} (first to last placed order)")
    for who, checks in report["audits"].items():
        for check in checks:
            print(f"audit {who:<6} [{'ok' if check['ok'] else 'FAIL'}] {check['name']}: {check['detail']}")
    print(json.dumps({k: v for k, v in report.items() if k not in ("rows", "audits")}))


def main(system, params: Params) -> int:
    report = run(system, params)
    print_report(report)
    return 0 if report["audit_ok"] else 1
