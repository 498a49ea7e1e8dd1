"""Starting and stopping the whole system: embedded servers, Ray, Serve.

Used by `commerce up` and by the test suite, so both exercise one path.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from config import Settings, SettingsError
from events.embedded import EmbeddedNats
from events.stream import connect as connect_nats
from events.stream import ensure_stream
from storage.embedded import EmbeddedPostgres
from storage.migrate import migrate

log = logging.getLogger(__name__)

RAY_NAMESPACE = "commerce"
DEFAULT_LOCAL_CPUS = 8  # logical CPUs: the actors are I/O bound, not CPU bound


def ray_environment(settings: Settings) -> dict[str, str]:
    """Flags the Ray processes must have in their environment before the cluster starts."""
    env = {}
    if not settings.ray_address:
        # A local cluster has no load balancer to drain from: stop replicas at once.
        env["RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S"] = "0"
    env.update(settings.ray_serve_flags())
    if settings.ingress_mode == "haproxy" and not settings.ray_address:
        env.update(_haproxy_files_and_ports(settings))
    return env


def _haproxy_files_and_ports(settings: Settings) -> dict[str, str]:
    """Ray's HAProxy keeps its config, sockets and state under /tmp/haproxy-serve
    by default: shared by every local cluster on the machine. Give ours its own,
    keyed by the state dir. Short, because Ray nests a 56-character directory
    in it and HAProxy refuses socket paths over 97 characters."""
    digest = hashlib.blake2b(str(settings.state_dir.resolve()).encode(), digest_size=4).hexdigest()
    base = Path(tempfile.gettempdir()) / f"commerce-hap-{digest}"
    base.mkdir(parents=True, exist_ok=True)
    return {
        "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": str(base / "haproxy.cfg"),
        "RAY_SERVE_HAPROXY_SOCKET_PATH": str(base / "admin.sock"),
        "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": str(base),
        "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": str(base / "server-state"),
        "RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH": str(base / "metrics.sock"),
        "RAY_SERVE_HAPROXY_STATS_PORT": str(settings.haproxy_stats_port),
        "RAY_SERVE_HAPROXY_METRICS_PORT": str(settings.haproxy_metrics_port),
    }


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host if host != "0.0.0.0" else "127.0.0.1", port)) == 0


@dataclass
class System:
    """What `start()` brought up, so `stop()` stops exactly that."""

    settings: Settings
    postgres: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    ray_started_here: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.settings.http_host in ("0.0.0.0", "::") else self.settings.http_host
        return f"http://{host}:{self.settings.http_port}"

    def start_servers(self) -> Settings:
        """Embedded PostgreSQL/NATS where no URL is set; migrations; the stream."""
        settings = self.settings.with_secrets()
        settings.require_external_servers()
        updates = {}
        if not settings.database_url:
            self.postgres = EmbeddedPostgres.in_state_dir(settings.state_dir)
            updates["database_url"] = self.postgres.start()
        if not settings.nats_url:
            self.nats = EmbeddedNats.in_state_dir(settings.state_dir, settings.embedded_nats_port)
            updates["nats_url"] = self.nats.start()
        self.settings = settings.model_copy(update=updates)
        asyncio.run(self._prepare_backends())
        return self.settings

    async def _prepare_backends(self) -> None:
        applied = await migrate(self.settings.database_url)
        self.notes.append(f"migrations applied: {len(applied)}")
        nc = await connect_nats(self.settings.nats_url, name="commerce-setup")
        try:
            await ensure_stream(nc)
        finally:
            await nc.close()

    def start_ray(self) -> None:
        import ray

        env = ray_environment(self.settings)
        if self.settings.ray_address:
            self.notes.append("remote Ray cluster: its processes must already have " + ", ".join(env))
        os.environ.update(env)
        if not ray.is_initialized():
            ray.init(
                address=self.settings.ray_address,
                namespace=RAY_NAMESPACE,
                num_cpus=None if self.settings.ray_address else (self.settings.ray_num_cpus or DEFAULT_LOCAL_CPUS),
                include_dashboard=False,
                log_to_driver=False,
            )
            self.ray_started_here = self.settings.ray_address is None

    def start(self, *, ready_timeout_s: float = 120.0) -> None:
        """Everything: servers, Ray, and the Serve application; returns when /readyz is 200."""
        from ray import serve

        from serve_app.bootstrap import APP_NAME, build_application

        if port_in_use(self.settings.http_host, self.settings.http_port):
            raise SettingsError(f"COMMERCE_HTTP_PORT: port {self.settings.http_port} is already in use")
        self.start_servers()
        self.start_ray()
        serve.start(http_options={"host": self.settings.http_host, "port": self.settings.http_port})
        serve.run(build_application(self.settings), name=APP_NAME, route_prefix="/", blocking=False)
        self.wait_ready(ready_timeout_s)

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"{self.base_url}/readyz", timeout=3)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.25)
        raise RuntimeError(f"the system did not become ready in {timeout_s:.0f}s: {last}")

    def stop(self) -> None:
        """Stop what this process started, in reverse order."""
        import ray
        from ray import serve

        if ray.is_initialized():
            try:
                if serve.context._global_client is not None:  # Serve was started here
                    serve.shutdown()
            finally:
                ray.shutdown()
        if self.nats and self.nats.started_here:
            self.nats.stop()
        if self.postgres and self.postgres.started_here:
            self.postgres.stop()
