"""The sold-out gate: a flash sale's refusals answered before FastAPI's routing.

Once a product has sold out, almost every checkout of a flash sale asks for
it, and the answer is the replica's sold-out memory (`soldout.py`): a 409
that touches no database and no actor. Routing, dependency solving and body
validation then cost more than the answer itself, so this plain ASGI
middleware answers such a checkout first, with exactly what the route would
answer: the same rules, in the same order, and the same error body.

It only ever answers the one case it is sure of; anything else (no or bad
token, another role, a revocation it cannot decide from memory, an invalid or
cart checkout, a product not remembered as sold out, an oversized or chunked
body) goes on to the route unchanged, with the body it read replayed.

Behind Ray Serve the same gate also runs in front of Serve's own per-request
work (`serve_app/serve_hooks.py`: `SoldOutEdge`), which answers nearly all of
a sell-out's refusals; this one answers them wherever that one does not run.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import DomainError
from serve_app.errors import domain_error_response
from serve_app.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH
from serve_app.orders.checkout import (
    CHECKOUT_PATH, CHECKOUT_ROLES, keyed_order_id, merge_items, refusal_if_sold_out,
)
from serve_app.orders.schemas import CheckoutRequest

# A checkout of a few lines is a few hundred bytes; bigger bodies take the route.
MAX_BODY_BYTES = 16 * 1024


@dataclass(frozen=True)
class RouteLabel:
    """What the access log and metrics read from `scope["route"]` (its path template)."""

    path: str


ROUTE = RouteLabel(CHECKOUT_PATH)


class SoldOutGate:
    """Inside the app (`create_app`), in the request context; `SoldOutEdge` is the
    same gate in front of Serve's own per-request work."""

    def __init__(self, app: ASGIApp):
        self.app = app

    def services(self, scope: Scope):
        return scope["app"].state.services  # Starlette put the app into the scope

    def answer(self, refusal: DomainError, services) -> ASGIApp:
        return domain_error_response(refusal)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != CHECKOUT_PATH:
            await self.app(scope, receive, send)
            return
        services = self.services(scope)
        if services is None or not services.sold_out.remembers_any():
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        body, received = await _read_small_body(headers, receive)
        refusal = body is not None and _refusal(services, headers, body)
        if not refusal:
            await self.app(scope, _replaying(received, receive), send)
            return
        scope["route"] = ROUTE
        await self.answer(refusal, services)(scope, receive, send)


def _refusal(services, headers: dict[bytes, bytes], body: bytes) -> DomainError | None:
    """The route's checks, in its order; None whenever the route must decide."""
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        principal = services.tokens.verify(token.strip())
    except DomainError:
        return None
    if principal.role not in CHECKOUT_ROLES or services.revocations.verdict(principal) is not True:
        return None
    key = headers.get(b"idempotency-key")
    if key is not None and not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        return None
    quantities = _explicit_items(body)
    if quantities is None:
        return None
    order_id = keyed_order_id(principal, key.decode("latin-1") if key is not None else None)
    return refusal_if_sold_out(services.sold_out, quantities, order_id)


@functools.lru_cache(maxsize=256)
def _explicit_items(body: bytes) -> Mapping[str, int] | None:
    """The quantities of a checkout of explicit items, merged as the route merges them;
    None if the route must decide (an invalid body, a cart checkout, an id that is not
    a UUID). Kept per body: a flash sale's checkouts all send the same few bytes, and
    validating and merging them again was ~5% of a refusal."""
    try:
        request = CheckoutRequest.model_validate_json(body)
    except ValidationError:
        return None
    if request.items is None:
        return None
    try:
        return MappingProxyType(merge_items([(item.product_id, item.quantity) for item in request.items]))
    except DomainError:
        return None


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {name: value for name, value in scope["headers"]}


async def _read_small_body(headers: dict[bytes, bytes], receive: Receive) -> tuple[bytes | None, list[Message]]:
    """The whole body if Content-Length says it is small; else (None, []) and nothing is read."""
    try:
        length = int(headers.get(b"content-length", b""))
    except ValueError:
        return None, []
    if not 0 < length <= MAX_BODY_BYTES:
        return None, []
    received: list[Message] = []
    chunks = []
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":  # the client went away: let the route see it
            return None, received
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), received


def _replaying(received: list[Message], receive: Receive) -> Receive:
    """`receive` for the route: first what the gate already read, then the rest."""
    pending = list(received)

    async def receive_again() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return receive_again
