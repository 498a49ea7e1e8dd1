"""What a replica holds open for the routes: pool, NATS client, metrics, checks."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator

from fastapi import Request
from nats.aio.client import Client as NATS
from prometheus_client import CollectorRegistry
from psycopg_pool import AsyncConnectionPool

from config import Settings
from events.stream import connect as connect_nats
from serve_app.health import ReadinessCheck
from serve_app.identity.tokens import TokenService
from serve_app.identity.wiring import Identity, build_identity
from actors.runtime.client import ActorClient
from serve_app.orders.soldout import SoldOutMemory
from serve_app.middleware import HttpMetrics
from storage.pool import open_pool


@dataclass
class Services:
    settings: Settings
    pool: AsyncConnectionPool
    nats: NATS
    registry: CollectorRegistry
    metrics: HttpMetrics
    tokens: TokenService
    # Refuses access tokens issued before a password change or an erasure;
    # see serve_app/identity/revocation.py. Set from `identity`.
    revocations: object | None = None
    actors: ActorClient | None = None
    sold_out: SoldOutMemory = field(default_factory=SoldOutMemory)
    # Accounts, sessions, profiles, addresses (serve_app/identity/).
    identity: Identity | None = None
    readiness_checks: dict[str, ReadinessCheck] = field(default_factory=dict)


async def get_services(request: Request) -> Services:
    """FastAPI dependency: the replica's open services."""
    return request.app.state.services


def _postgres_check(pool: AsyncConnectionPool) -> ReadinessCheck:
    async def check() -> None:
        async with pool.connection(timeout=1.5) as conn:
            await conn.execute("SELECT 1")

    return check


def _nats_check(nc: NATS) -> ReadinessCheck:
    async def check() -> None:
        if not nc.is_connected:
            raise ConnectionError("not connected")
        await nc.flush(timeout=1)

    return check


def _shards_check(actors: ActorClient) -> ReadinessCheck:
    async def check() -> None:
        await actors.ping_all(timeout_s=1.5)

    return check


@asynccontextmanager
async def open_services(settings: Settings, registry: CollectorRegistry, metrics: HttpMetrics) -> AsyncIterator[Services]:
    pool = await open_pool(settings.database_url, max_size=settings.db_pool_max)
    nc = await connect_nats(settings.nats_url, name="commerce-ingress")
    services = Services(
        settings=settings, pool=pool, nats=nc, registry=registry, metrics=metrics, tokens=TokenService(settings)
    )
    services.actors = ActorClient(settings)
    services.identity = build_identity(settings, pool, services.tokens)
    services.revocations = services.identity.revocations
    await services.identity.revocations.start()  # one poll per second; see revocation.py
    services.readiness_checks = {
        "postgres": _postgres_check(pool), "nats": _nats_check(nc), "actor_shards": _shards_check(services.actors),
    }
    try:
        yield services
    finally:
        await services.identity.revocations.close()
        await nc.close()
        await pool.close()
