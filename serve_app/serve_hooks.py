"""ASGI middleware Ray Serve puts in front of the ingress replicas' HTTP servers.

Serve imports `http_middlewares` from the path in its process's environment
(`RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH`, set in the Ingress replicas'
runtime_env in `serve_app/deployments.py`) and wraps its HTTP server in what
it returns; in HAProxy mode that is each replica's direct-ingress server, and
the middleware runs before Serve's own per-request work.

`FinishEveryRequest` marks each request with Serve's
`x-request-disconnect-disabled: ?1`. A replica then runs a request to its end
even if the client goes away, and does not start a second task per request
to watch for that: with no request timeout configured it awaits the app
directly, instead of a task for the app, a task reading the connection, and
`asyncio.wait` over both (~10% of the ingress event loop's time per request,
py-spy, 2026-11-30). A checkout is better finished than cut off anyway: its
order is placed, or not, as a whole, and a retry with the same
Idempotency-Key gets that answer. (A request timeout, when one is set, still
applies.)

`SoldOutEdge` is the sold-out gate (`serve_app/orders/soldout_gate.py`) in
front of Serve's per-request work: after a flash sale sells out, nearly every
request is a refusal the replica answers from memory, and Serve's own share
of answering one (its request metadata, ongoing-request accounting, metrics,
the app wrapper and the send chain) was about half of the ingress event
loop's time per refusal (py-spy, 2026-11-30). A refusal answered here gets
the app's request context (request id, access log, the app's metrics), and
Serve does not count it: not in its own request metrics (off by default in
HAProxy mode; HAProxy's, when on, still count it) and not among its ongoing
requests, so on KubeRay a sold-out stampede does not scale the ingress out
(the checkouts that still reach the app do). Anything else goes on to Serve
with the body the gate read replayed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.errors import DomainError
from serve_app.errors import domain_error_response
from serve_app.middleware import RequestContextMiddleware
from serve_app.orders.soldout_gate import SoldOutGate

DISCONNECT_DISABLED = (b"x-request-disconnect-disabled", b"?1")
IMPORT_PATH = f"{__name__}:http_middlewares"


class FinishEveryRequest:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [header for header in scope["headers"] if header[0] != DISCONNECT_DISABLED[0]]
            headers.append(DISCONNECT_DISABLED)
            scope["headers"] = headers
        await self.app(scope, receive, send)


# This replica's open services while its app runs, and the event loop they belong to.
_ingress: tuple[object, asyncio.AbstractEventLoop] | None = None


@contextmanager
def serving(services) -> Iterator[None]:
    """For the app's lifespan behind Serve: the edge answers from these services meanwhile."""
    global _ingress
    _ingress = (services, asyncio.get_running_loop())
    try:
        yield
    finally:
        _ingress = None


class SoldOutEdge(SoldOutGate):
    def services(self, scope: Scope):
        if _ingress is None:
            return None
        services, loop = _ingress
        # Only on the app's own loop (Serve's throughput mode runs the app on the
        # server's loop): the sold-out memory and the metrics are not shared across threads.
        return services if asyncio.get_running_loop() is loop else None

    def answer(self, refusal: DomainError, services) -> ASGIApp:
        async def respond(scope: Scope, receive: Receive, send: Send) -> None:
            await domain_error_response(refusal)(scope, receive, send)  # inside the context: its request id

        return RequestContextMiddleware(respond, services.metrics, set_header=True)


def http_middlewares() -> list[Middleware]:
    # Serve applies them in order, each around the last: the edge is outermost.
    return [Middleware(FinishEveryRequest), Middleware(SoldOutEdge)]
