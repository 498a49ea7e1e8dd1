"""Health endpoints: liveness, readiness naming the failed dependency, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import JSONResponse, Response

from serve_app.errors import DEFAULT_RETRY_AFTER_S, error_response

ReadinessCheck = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_S = 2.0

router = APIRouter(tags=["health"])


async def run_checks(checks: dict[str, ReadinessCheck]) -> dict[str, str]:
    """Run every check concurrently; return {name: "ok" | reason}."""

    async def one(check: ReadinessCheck) -> str:
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
            return "ok"
        except TimeoutError:
            return "timed out"
        except Exception as exc:
            return str(exc) or type(exc).__name__

    results = await asyncio.gather(*(one(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


@router.get("/healthz", summary="Process is alive")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="PostgreSQL, NATS and the actor shards answer")
async def readyz(request: Request) -> Response:
    results = await run_checks(request.app.state.services.readiness_checks)
    failed = sorted(name for name, result in results.items() if result != "ok")
    if failed:
        return error_response(
            503, "not_ready", f"Not ready: {', '.join(failed)} failed.",
            {"failed": failed, "checks": results}, headers={"Retry-After": str(DEFAULT_RETRY_AFTER_S)},
        )
    return JSONResponse({"status": "ready", "checks": results})


@router.get("/metrics", summary="Prometheus metrics of this replica")
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.services.registry), media_type=CONTENT_TYPE_LATEST)
