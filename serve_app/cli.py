"""`commerce`: up, migrate, status, admin create.

Settings come from the environment (see config/settings.py); a bad one ends
the command with one line naming it and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

import httpx

from config import Settings, SettingsError, load_settings
from serve_app.loadtest.options import add_arguments as add_loadtest_arguments

EXIT_BAD_SETTINGS = 2


def _up(settings: Settings, args: argparse.Namespace) -> int:
    from serve_app.logs import configure_logging
    from serve_app.runner import System

    configure_logging("WARNING")
    system = System(settings)
    stop = threading.Event()
    try:
        print("starting: embedded servers where no URL is set, Ray, Serve ...", flush=True)
        system.start()
        # After ray.init, which installs a SIGTERM handler of its own that exits at once.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        s = system.settings
        print(f"ready    : {system.base_url}  (docs {system.base_url}/docs, readiness {system.base_url}/readyz)")
        print(f"postgres : {'embedded, ' + str(system.postgres.data_dir) if system.postgres else 'DATABASE_URL'}")
        print(f"nats     : {s.nats_url}{' (embedded)' if system.nats else ''}")
        print(f"logs     : {s.log_file or 'stderr'}")
        for note in system.notes:
            print(f"note     : {note}")
        print("Ctrl-C stops everything this command started.", flush=True)
        stop.wait()
        print("stopping ...", flush=True)
    except KeyboardInterrupt:  # Ctrl-C while still starting
        print("interrupted; stopping ...", flush=True)
    finally:
        system.stop()
    print("stopped.")
    return 0


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[str]:
    """DATABASE_URL, or the embedded server for the duration of a one-off command."""
    from storage.embedded import EmbeddedPostgres

    settings = settings.with_secrets()
    embedded = None
    dsn = settings.database_url
    if not dsn:
        settings.require_external_servers()
        embedded = EmbeddedPostgres.in_state_dir(settings.state_dir)
        dsn = embedded.start()
    try:
        yield dsn
    finally:
        if embedded and embedded.started_here:
            embedded.stop()


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from storage.migrate import migrate

    with _database(settings) as dsn:
        applied = asyncio.run(migrate(dsn))
    if applied:
        for migration in applied:
            print(f"applied {migration.version:04d}_{migration.name}")
    else:
        print("up to date")
    return 0


ADMIN_PASSWORD_ENV = "COMMERCE_ADMIN_PASSWORD"


def _admin_password() -> str | None:
    """From the environment, else prompted (twice) when stdin is a terminal; never echoed or logged."""
    password = os.environ.get(ADMIN_PASSWORD_ENV)
    if password:
        return password
    if not sys.stdin or not sys.stdin.isatty():
        return None
    import getpass

    first = getpass.getpass("Password for the new admin: ")
    return first if getpass.getpass("Repeat it: ") == first else ""


def _admin_create(settings: Settings, args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from domain.errors import Conflict
    from serve_app.identity.admin import admin_request, create_admin
    from storage.migrate import migrate

    password = _admin_password()
    if password is None:
        print(f"commerce: set {ADMIN_PASSWORD_ENV} (there is no terminal to prompt on)", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    if password == "":
        print("commerce: the passwords did not match", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    try:
        request = admin_request(args.email, password, args.name)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "input"
        print(f"commerce: invalid {field}: {first['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return EXIT_BAD_SETTINGS

    async def run(dsn: str):
        await migrate(dsn)
        return await create_admin(dsn, request)

    with _database(settings) as dsn:
        try:
            user = asyncio.run(run(dsn))
        except Conflict as exc:
            print(f"commerce: {exc.message}", file=sys.stderr)
            return 1
    print(f"created admin {user.id} <{user.email}>")
    return 0


def _status(settings: Settings, args: argparse.Namespace) -> int:
    from events.embedded import EmbeddedNats
    from storage.embedded import EmbeddedPostgres

    if not settings.database_url:
        running = EmbeddedPostgres.in_state_dir(settings.state_dir).is_running()
        print(f"postgres : embedded, {'running' if running else 'stopped'}")
    else:
        print("postgres : DATABASE_URL")
    if not settings.nats_url:
        nats = EmbeddedNats.in_state_dir(settings.state_dir, settings.embedded_nats_port)
        print(f"nats     : embedded {nats.url}, {'running' if nats.pid() else 'stopped'}")
    else:
        print("nats     : NATS_URL")
    url = f"http://{settings.http_host}:{settings.http_port}/readyz"
    try:
        response = httpx.get(url, timeout=3)
        print(f"api      : {url} -> {response.status_code} {response.text}")
        return 0 if response.status_code == 200 else 1
    except httpx.HTTPError:
        print(f"api      : {url} -> not answering")
        return 1


def _bench_reservations(settings: Settings, args: argparse.Namespace) -> int:
    from serve_app.bench import reservations
    from serve_app.logs import configure_logging
    from serve_app.runner import System

    configure_logging("WARNING")
    system = System(settings)
    try:
        system.start_servers()
        system.start_ray()
        return reservations.main(
            system.settings, concurrency=args.concurrency, count=args.count, duration_s=args.duration, skus=args.skus,
            rounds=args.rounds, warmup_s=args.warmup,
        )
    finally:
        system.stop()


def _events_replay(settings: Settings, args: argparse.Namespace) -> int:
    """Mark outbox events since a time as unpublished; the running relay republishes them."""
    from datetime import datetime

    import psycopg

    from events.admin import mark_for_replay

    try:
        since = datetime.fromisoformat(args.since)
    except ValueError:
        raise SettingsError(f"--since: not an RFC 3339 time: {args.since!r}") from None
    if since.tzinfo is None:
        raise SettingsError("--since: give a time zone, e.g. 2026-11-21T10:00:00Z")

    async def run(dsn: str) -> int:
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            return await mark_for_replay(conn, since)

    with _database(settings) as dsn:
        count = asyncio.run(run(dsn))
    print(f"{count} events marked for replay since {since.isoformat()}; the relay republishes them")
    return 0


def _bench_flash_sale(settings: Settings, args: argparse.Namespace) -> int:
    from serve_app.bench import flash_sale
    from serve_app.logs import configure_logging
    from serve_app.runner import System

    configure_logging("WARNING")
    system = System(flash_sale.bench_settings(settings))
    try:
        system.start()
        return flash_sale.main(system, flash_sale.Params(
            stock=args.stock, attempts=args.attempts, concurrency=args.concurrency, shoppers=args.shoppers,
            duration_s=args.duration, driver=args.driver, peer_workers=tuple(args.peer_workers),
            peer_pool=args.peer_pool, rounds=args.rounds, warmup=args.warmup,
        ))
    finally:
        system.stop()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, not {text!r}")
    return value


def _worker_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of worker counts, e.g. 1,2")
    return counts


def _loadtest_flash_sale(settings: Settings, args: argparse.Namespace) -> int:
    from serve_app.loadtest import command

    return command.main(args)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="commerce", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start embedded servers (if needed), Ray and Serve; Ctrl-C stops").set_defaults(run=_up)
    commands.add_parser("migrate", help="apply database migrations and exit").set_defaults(run=_migrate)
    commands.add_parser("status", help="show what is running").set_defaults(run=_status)
    events = commands.add_parser("events", help="the event log").add_subparsers(dest="events", required=True)
    replay = events.add_parser("replay", help="republish events from the outbox (consumers stay exactly-once)")
    replay.add_argument("--since", required=True, help="RFC 3339 time, e.g. 2026-11-21T10:00:00Z")
    replay.set_defaults(run=_events_replay)
    bench = commands.add_parser("bench", help="benchmarks that print figures").add_subparsers(dest="bench", required=True)
    reservations = bench.add_parser("reservations", help="ProductActor vs hot-row UPDATE, then many SKUs")
    reservations.add_argument("--concurrency", type=int, default=64, help="client concurrency (both paths)")
    reservations.add_argument("--count", type=int, default=20_000, help="max reservations per run")
    reservations.add_argument("--duration", type=float, default=10.0, help="max seconds per run")
    reservations.add_argument("--skus", type=int, default=200, help="SKUs in the many-SKU runs")
    reservations.add_argument("--rounds", type=_positive, default=1,
                              help="repeat the two hot-SKU runs, interleaved; the headline is the median ratio")
    reservations.add_argument("--warmup", type=float, default=3.0,
                              help="seconds of both hot-SKU paths first, not measured (default %(default)s)")
    reservations.set_defaults(run=_bench_reservations)
    flash = bench.add_parser("flash-sale", help="checkouts/s: Serve ceiling vs plain peer vs this system")
    flash.add_argument("--stock", type=int, default=1000, help="units of the hot product (default %(default)s)")
    flash.add_argument("--attempts", type=int, default=20_000, help="requests per run (default %(default)s)")
    flash.add_argument("--concurrency", type=int, default=200, help="concurrent clients (default %(default)s)")
    flash.add_argument("--shoppers", type=int, default=200, help="shopper accounts (default %(default)s)")
    flash.add_argument("--duration", type=float, default=120.0, help="max seconds per run (default %(default)s)")
    flash.add_argument("--driver", choices=("auto", "wrk", "builtin"), default="auto",
                       help="load generator: wrk when installed (auto), or the built-in async driver")
    flash.add_argument("--peer-workers", type=_worker_counts, default=[1, 2],
                       help="uvicorn worker counts to try for the peer; the best one counts (default 1,2)")
    flash.add_argument("--peer-pool", type=int, default=16, help="peer's connections per worker (default %(default)s)")
    flash.add_argument("--rounds", type=_positive, default=1,
                       help="repeat the three runs, interleaved; the headline is the median (default %(default)s)")
    flash.add_argument("--warmup", type=int, default=2000,
                       help="GET /healthz requests first, not measured (default %(default)s)")
    flash.set_defaults(run=_bench_flash_sale)
    loadtest = commands.add_parser("loadtest", help="load tests against a running API, with an audit")
    scenarios = loadtest.add_subparsers(dest="loadtest", required=True)
    flash_sale = scenarios.add_parser(
        "flash-sale", help="shoppers race for one hot product; audit: no oversell, no lost or doubled order")
    add_loadtest_arguments(flash_sale)
    flash_sale.set_defaults(run=_loadtest_flash_sale)
    admin = commands.add_parser("admin", help="administration").add_subparsers(dest="admin_command", required=True)
    create = admin.add_parser(
        "create", help=f"create an admin account (password from {ADMIN_PASSWORD_ENV}, or prompted on a terminal)"
    )
    create.add_argument("--email", required=True)
    create.add_argument("--name", default=None)
    create.set_defaults(run=_admin_create)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        return args.run(settings, args)
    except SettingsError as exc:
        print(f"commerce: invalid setting {exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS


if __name__ == "__main__":
    sys.exit(main())
