"""The Ray Serve deployments: the HTTP ingress and the outbox relay."""

from __future__ import annotations

import asyncio
import logging
import os

from ray import serve

from config import Settings
from events.relay import OutboxRelay
from events.stream import connect_with_retry
from serve_app import serve_hooks
from serve_app.app import create_app
from serve_app.logs import configure_logging
from storage.pool import open_pool

log = logging.getLogger(__name__)


def run_in_background(settings: Settings) -> None:
    """Lower this replica's CPU priority (its process is its own): see `background_niceness`
    and `background_idle_policy`."""
    if settings.background_niceness or settings.background_idle_policy:
        lower_priority(settings.background_niceness, idle=settings.background_idle_policy)


def lower_priority(by: int, *, idle: bool = False) -> None:
    """Make every thread of this process `by` nicer (at most 19), and with `idle`
    put it under SCHED_IDLE where there is one (Linux).

    On Linux a niceness and a scheduling policy belong to a thread, and `os.nice`
    changes only the caller's: a Ray replica is built on one thread and runs its
    requests and loops on others, which kept their priority (measured: the
    notifications worker's busiest thread stayed at Ray's 15 while one idle
    thread went to 19). Threads started later inherit both from the thread that
    starts them. Lowering either needs no privilege."""
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except FileNotFoundError:  # not Linux: there the niceness is the process's
        os.nice(by)
        return
    for tid in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + by))
            if idle and hasattr(os, "SCHED_IDLE"):
                os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        except ProcessLookupError:  # the thread ended meanwhile
            continue


# The ingress runs on asyncio's own event loop, not uvloop (Ray's default when
# installed): on uvloop, a connection opened to an already busy server waits
# for its first answer behind the connections it has, up to seconds with a
# hundred new ones (a fresh load generator, or HAProxy opening server-side
# connections under load); on asyncio's loop it waits like any other request.
# README, "The ceiling's own tail". Serve's HTTP server in the replica also
# loads our middleware (serve_app/serve_hooks.py). Both variables must be in the
# worker process's environment when it starts, hence the runtime_env.
INGRESS_ACTOR_OPTIONS = {"runtime_env": {"env_vars": {
    "RAY_USE_UVLOOP": "0",
    "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH": serve_hooks.IMPORT_PATH,
}}}


# Serve's own access log is off: RequestContextMiddleware already writes one JSON
# line per request (request id, route, status, latency), and Serve's duplicate
# line was ~4% of a sold-out refusal's CPU.
@serve.deployment(name="Ingress", max_ongoing_requests=1000, graceful_shutdown_timeout_s=5,
                  logging_config={"enable_access_log": False}, ray_actor_options=INGRESS_ACTOR_OPTIONS)
@serve.ingress()
class Ingress:
    """FastAPI ingress. The relay and worker handles are bound only to keep
    them in the same application (one deploy, one upgrade)."""

    def __init__(self, settings: Settings, relay=None, workers=None):
        configure_logging(settings.log_level, settings.log_file)
        self._settings = settings

    def __serve_build_asgi_app__(self):
        return create_app(self._settings, behind_serve=True)


@serve.deployment(
    name="OutboxRelay", num_replicas=1, ray_actor_options={"num_cpus": 0}, graceful_shutdown_timeout_s=5
)
class OutboxRelayDeployment:
    """Runs the outbox relay loop in the background for as long as the replica lives."""

    def __init__(self, settings: Settings):
        configure_logging(settings.log_level, settings.log_file)
        run_in_background(settings)
        self._settings = settings
        self._stop = asyncio.Event()
        self._relay: OutboxRelay | None = None
        self._task = asyncio.get_event_loop().create_task(self._run())

    async def _run(self) -> None:
        pool = await open_pool(self._settings.database_url, max_size=2, name="relay")
        nc = await connect_with_retry(self._settings.nats_url, name="commerce-relay", stop=self._stop)
        if nc is None:
            return
        self._relay = OutboxRelay(pool, nc, self._settings.database_url)
        try:
            await self._relay.run(self._stop)
        finally:
            await nc.close()
            await pool.close()

    async def check_health(self) -> None:
        # A dead loop means a dead relay: let Serve restart the replica.
        if self._task.done():
            raise RuntimeError(f"outbox relay stopped: {self._task.exception()!r}")

    async def published_total(self) -> int:
        return self._relay.published_total if self._relay else 0

    async def __del__(self):
        self._stop.set()


@serve.deployment(num_replicas=1, ray_actor_options={"num_cpus": 0}, graceful_shutdown_timeout_s=5)
class EventWorker:
    """One durable JetStream consumer (payments, notifications, delivery, ...).

    `factory` is "module:function"; the function gets a `WorkerContext` and
    returns the handler (events/consumer.py `Handler`).
    """

    def __init__(self, settings: Settings, factory: str):
        configure_logging(settings.log_level, settings.log_file)
        run_in_background(settings)
        self._settings = settings
        self._factory = factory
        self._stop = asyncio.Event()
        self._worker = None
        self._task = asyncio.get_event_loop().create_task(self._run())

    async def _run(self) -> None:
        from actors.runtime.client import ActorClient
        from events.consumer import JetStreamWorker
        from serve_app.workers import WorkerContext, load_factory

        pool = await open_pool(self._settings.database_url, max_size=4, name=f"worker-{self._factory}")
        nc = await connect_with_retry(self._settings.nats_url, name=f"commerce-worker-{self._factory}", stop=self._stop)
        if nc is None:
            return
        context = WorkerContext(settings=self._settings, pool=pool, nats=nc, actors=ActorClient(self._settings))
        handler = load_factory(self._factory)(context)
        self._worker = JetStreamWorker(pool, nc, handler, context.policy())
        try:
            await self._worker.run(self._stop)
        finally:
            await context.close()
            await nc.close()
            await pool.close()

    async def check_health(self) -> None:
        if self._task.done():
            raise RuntimeError(f"worker {self._factory} stopped: {self._task.exception()!r}")

    async def processed(self) -> int:
        return self._worker.processed if self._worker else 0

    async def __del__(self):
        self._stop.set()
