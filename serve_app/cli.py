"""`commerce`: up, migrate, status.

Settings come from the environment (see config/settings.py); a bad one ends
the command with one line naming it and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading

import httpx

from config import Settings, SettingsError, load_settings

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
    finally:
        system.stop()
    print("stopped.")
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from storage.embedded import EmbeddedPostgres
    from storage.migrate import migrate

    settings = settings.with_secrets()
    embedded = None
    dsn = settings.database_url
    if not dsn:
        settings.require_external_servers()
        embedded = EmbeddedPostgres.in_state_dir(settings.state_dir)
        dsn = embedded.start()
    try:
        applied = asyncio.run(migrate(dsn))
    finally:
        if embedded and embedded.started_here:
            embedded.stop()
    if applied:
        for migration in applied:
            print(f"applied {migration.version:04d}_{migration.name}")
    else:
        print("up to date")
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


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="commerce", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start embedded servers (if needed), Ray and Serve; Ctrl-C stops").set_defaults(run=_up)
    commands.add_parser("migrate", help="apply database migrations and exit").set_defaults(run=_migrate)
    commands.add_parser("status", help="show what is running").set_defaults(run=_status)
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
