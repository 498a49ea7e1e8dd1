"""Request context middleware: request id, access log, metrics, last-resort 500.

A plain ASGI middleware (no BaseHTTPMiddleware) to keep the hot path cheap.
It sits inside Starlette's error middleware, so it also answers unexpected
exceptions itself: that keeps the API.md body and the X-Request-ID header on
a 500 too.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve_app.context import request_id_var
from serve_app.errors import error_response
from serve_app.logs import AccessLog

access_log = AccessLog()
log = logging.getLogger(__name__)

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.requests = Counter(
            "commerce_http_requests", "HTTP requests served", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "commerce_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
            registry=registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        # The labelled children, kept: `labels()` costs more than the counting (~4 µs a request).
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, elapsed_s: float) -> None:
        children = self._children.get((method, route, status))
        if children is None:
            children = self._children[(method, route, status)] = (
                self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
        children[0].inc()
        children[1].observe(elapsed_s)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class RequestContextMiddleware:
    """`set_header=False` behind Ray Serve: Serve's own request-id middleware
    (outside this one) already puts the id into the request and the response."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics, set_header: bool = True):
        self.app = app
        self.metrics = metrics
        self.set_header = set_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = sent if sent and _CLIENT_REQUEST_ID.match(sent) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                if self.set_header:
                    MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if not response_started:
                response = error_response(500, "internal_error", "An unexpected error occurred.")
                await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.observe(method, route, status, elapsed)
            access_log.request(method, route, status, round(elapsed * 1000, 2), request_id)
            request_id_var.reset(token)
