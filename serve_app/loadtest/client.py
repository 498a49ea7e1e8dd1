"""The API as the load tester sees it: set-up calls, checkouts with retries, audit reads.

aiohttp rather than httpx: on this 2-core box httpx's async pool managed a few
hundred requests/s against a hello-world server where aiohttp did ~6,000, and
the load generator must not be the bottleneck it measures.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from urllib.parse import urlencode

import aiohttp
import orjson

from serve_app.loadtest.model import Attempt, Try

RETRIED_STATUSES = frozenset({502, 503, 504})  # the answer may not be final: retry with the same key


class ApiError(Exception):
    def __init__(self, what: str, status: int | None, body: dict | None):
        code = ((body or {}).get("error") or {}).get("code")
        super().__init__(f"{what}: {status if status is not None else 'no answer'}{f' {code}' if code else ''}")
        self.status, self.code, self.body = status, code, body


def error_code(body: dict | None) -> str | None:
    return ((body or {}).get("error") or {}).get("code") if isinstance(body, dict) else None


def new_session(connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections, ttl_dns_cache=300)
    return aiohttp.ClientSession(connector=connector, json_serialize=lambda v: orjson.dumps(v).decode())


class Api:
    """JSON calls against one base URL; a missing answer is status None, never an exception."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, *, timeout_s: float = 10.0):
        self.session = session
        self.base_url = base_url.rstrip("/")
        # Per socket operation, not in total: in the open model a request may queue for a free
        # connection, which is latency (measured from the due time), not a reason to give up.
        self.timeout = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=timeout_s, sock_read=timeout_s)

    async def call(
        self, method: str, path: str, *, token: str | None = None, json: object = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int | None, dict | None, dict[str, str]]:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        try:
            async with self.session.request(
                method, self.base_url + path, json=json, headers=all_headers, timeout=self.timeout,
            ) as response:
                raw = await response.read()
                body = orjson.loads(raw) if raw and response.content_type == "application/json" else None
                return response.status, body, dict(response.headers)
        except (TimeoutError, asyncio.TimeoutError):
            return None, {"error": {"code": "timeout"}}, {}
        except (aiohttp.ClientError, OSError, orjson.JSONDecodeError) as exc:
            return None, {"error": {"code": type(exc).__name__}}, {}

    async def ok(self, method: str, path: str, *, what: str, tries: int = 5, **kwargs) -> dict:
        """A set-up or audit call: retried on no answer or a 5xx, else the body of a 2xx or ApiError."""
        for attempt in range(tries):
            status, body, headers = await self.call(method, path, **kwargs)
            if status is not None and 200 <= status < 300:
                return body or {}
            if (status is not None and status < 500) or attempt == tries - 1:
                raise ApiError(what, status, body)
            await asyncio.sleep(backoff_s(attempt, headers))
        raise AssertionError("unreachable")


def backoff_s(attempt: int, headers: dict[str, str], *, cap_s: float = 2.0) -> float:
    """Retry-After when given (capped), else 0.1 s doubling; with jitter so retries do not march in step."""
    try:
        base = float(headers.get("Retry-After", ""))
    except ValueError:
        base = 0.1 * 2**attempt
    return min(cap_s, base) * random.uniform(0.5, 1.0)


def parse_checkout(status: int | None, body: dict | None) -> Try:
    if status is None:
        return Try(None, error_code(body) or "no_answer")
    if status == 201 and isinstance(body, dict) and body.get("id"):
        return Try(201, None, str(body["id"]))
    code = error_code(body)
    details = ((body or {}).get("error") or {}).get("details") or {} if isinstance(body, dict) else {}
    order_id = details.get("order_id") if isinstance(details, dict) else None
    return Try(status, code, str(order_id) if order_id else None)


class Checkout:
    """One checkout attempt of the hot product: tried until answered for good, with the same key."""

    def __init__(self, api: Api, product_id: str, tokens: list[str], *, quantity: int = 1, max_tries: int = 5,
                 max_backoff_s: float = 2.0, sleep: Callable = asyncio.sleep):
        self.api, self.tokens, self.max_tries, self.max_backoff_s = api, tokens, max_tries, max_backoff_s
        self.body = {"items": [{"product_id": product_id, "quantity": quantity}]}
        self.sleep = sleep

    async def __call__(self, attempt: Attempt) -> None:
        token = self.tokens[attempt.shopper]
        for n in range(self.max_tries):
            status, body, headers = await self.api.call(
                "POST", "/api/orders", token=token, json=self.body, headers={"Idempotency-Key": attempt.key})
            attempt.tries.append(parse_checkout(status, body))
            if status is not None and status not in RETRIED_STATUSES:
                return
            if n < self.max_tries - 1:
                await self.sleep(backoff_s(n, headers, cap_s=self.max_backoff_s))


class HttpAuditApi:
    """`audit.AuditApi` over HTTP: the product's owner reads stock and lists orders."""

    def __init__(self, api: Api, seller_token: str):
        self.api, self.seller_token = api, seller_token

    async def stock(self, product_id: str) -> dict:
        return await self.api.ok("GET", f"/api/products/{product_id}/stock", token=self.seller_token,
                                 what="reading the stock")

    async def order(self, order_id: str, token: str) -> tuple[int, dict | None]:
        for n in range(5):
            status, body, headers = await self.api.call("GET", f"/api/orders/{order_id}", token=token)
            if status is not None and status < 500:
                return status, body
            await asyncio.sleep(backoff_s(n, headers))
        return status or 0, body

    async def orders_with(self, product_id: str) -> list[dict]:
        orders, cursor = [], ""
        while True:
            query = urlencode({"limit": 100, **({"cursor": cursor} if cursor else {})})
            page = await self.api.ok("GET", f"/api/orders?{query}", token=self.seller_token,
                                     what="listing the seller's orders")
            orders += [o for o in page.get("items", [])
                       if any(item.get("product_id") == product_id for item in o.get("items", []))]
            cursor = page.get("next_cursor")
            if not cursor:
                return orders
