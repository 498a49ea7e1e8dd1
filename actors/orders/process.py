"""Reserving, releasing and committing an order's lines through the ProductActors.

Used by the checkout (in a Serve replica) and by the OrderActor's own effects
(in a shard), so an interrupted checkout is finished by the same code. Every
step is idempotent by order id, so running it twice, or from two places at
once, converges: a product's decision for (product, order) never changes once
made, and a released reservation cannot be reserved again.

No lock is held while waiting on another actor, so multi-item orders across
shards cannot deadlock.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from actors.inventory.state import Commit, Release, Reserve
from actors.orders.model import Line, ReservationFailed, ReservationSucceeded, short_item
from domain.errors import Conflict, NotFound, RateLimited, Unavailable


async def _each_line(actors, lines: tuple[Line, ...], command_for) -> list[Any]:
    return await asyncio.gather(
        *(actors.ask("product", line.product_id, command_for(line)) for line in lines), return_exceptions=True
    )


async def reserve_order(actors, order_id: str, lines: tuple[Line, ...], hold_ttl: timedelta, shopper_id: str | None):
    """All or nothing: the command for the OrderActor, ReservationSucceeded or ReservationFailed.

    Raises Unavailable if a product could not be asked; the order then stays
    PENDING and its re-drive timer finishes the job.
    """
    now = datetime.now(UTC)
    expires_at = now + hold_ttl
    results = await _each_line(
        actors, lines, lambda line: Reserve(order_id, line.quantity, expires_at, shopper_id=shopper_id, now=now)
    )
    short = []
    for line, result in zip(lines, results, strict=True):
        # A refusal (out of stock, sale rules, or admission control turning the
        # checkout away) rejects the order; a product that did not answer leaves
        # it PENDING for the re-drive.
        if isinstance(result, (Conflict, NotFound, RateLimited)):
            short.append(short_item(line, result))
        elif isinstance(result, BaseException):
            raise result if isinstance(result, Unavailable) else Unavailable(str(result))
    if short:
        await release_lines(actors, order_id, lines)
        return ReservationFailed(tuple(short))
    return ReservationSucceeded(expires_at)


async def release_lines(actors, order_id: str, lines: tuple[Line, ...], result: Any = None) -> Any:
    """Give back every line's hold (or sold units, after a paid order is cancelled)."""
    outcomes = await _each_line(actors, lines, lambda line: Release(order_id, reason=f"order {order_id} released"))
    _raise_retryable(outcomes)
    return result


async def commit_lines(actors, order_id: str, lines: tuple[Line, ...], result: Any = None) -> Any:
    """Turn every line's hold into a sale."""
    outcomes = await _each_line(actors, lines, lambda line: Commit(order_id))
    _raise_retryable(outcomes)
    return result


def _raise_retryable(outcomes: list[Any]) -> None:
    # Business refusals (an unknown product, a closed reservation) are final:
    # retrying cannot change them. Anything else is retried by the caller.
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, (Conflict, NotFound)):
            raise outcome
