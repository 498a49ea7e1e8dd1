"""The payment gateway port, what crosses it, and retrying with backoff.

A charge is three idempotent-by-us steps, so a crash between any two is
resumed rather than repeated (localstripe and the simulated gateway ignore
idempotency keys, so at-most-once charging cannot be left to the provider):

1. `find_charge`: the intent an earlier attempt created for this payment, if any;
2. `create_charge`: a new, unconfirmed intent (its id is recorded at once);
3. `confirm_charge`: confirm it if needed, and report the outcome.

Refunds likewise: `find_refund` on a resumed attempt, else `refund`.

Errors: `GatewayTransient` means "retry later" (the worker naks with
backoff; the API answers 503); `PaymentRefused` is a final "no" for this
payment (it fails with that reason).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

log = logging.getLogger(__name__)

Result = TypeVar("Result")


@dataclass(frozen=True)
class ChargeRequest:
    payment_id: str
    order_id: str
    amount: int  # minor units
    currency: str
    payment_method: str


@dataclass(frozen=True)
class ChargeOutcome:
    status: Literal["succeeded", "failed", "pending"]  # pending: the provider reports later (webhook)
    intent_id: str
    reason: str | None = None


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str
    payment_id: str
    intent_id: str
    amount: int
    currency: str


class GatewayTransient(Exception):
    """The gateway could not answer now (timeout, 5xx, 429, a call in flight): retry later."""


class PaymentRefused(Exception):
    """The provider refused this payment for good (declined card, invalid method)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class PaymentGateway(Protocol):
    provider: str  # recorded on each payment: "simulated" or "stripe"

    async def find_charge(self, charge: ChargeRequest) -> str | None: ...

    async def create_charge(self, charge: ChargeRequest) -> str: ...

    async def confirm_charge(self, intent_id: str, charge: ChargeRequest) -> ChargeOutcome: ...

    async def find_refund(self, refund: RefundRequest) -> str | None: ...

    async def refund(self, refund: RefundRequest) -> str: ...

    async def close(self) -> None: ...


async def with_backoff(
    call: Callable[[], Awaitable[Result]], *, retryable: Callable[[BaseException], bool], attempts: int = 3,
    base_s: float = 0.25, cap_s: float = 2.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, rand: Callable[[], float] = random.random,
) -> Result:
    """Run `call`; retry what `retryable` accepts with exponential backoff and full
    jitter (a uniform delay in [0, min(cap, base * 2^n)]), at most `attempts` times."""
    for attempt in range(attempts):
        try:
            return await call()
        except Exception as exc:
            if not retryable(exc) or attempt == attempts - 1:
                raise
            await sleep(min(cap_s, base_s * 2**attempt) * rand())
    raise AssertionError("unreachable")


def build_gateway(settings, pool) -> PaymentGateway:
    """The configured adapter (`COMMERCE_PAYMENT_GATEWAY`)."""
    if settings.payment_gateway == "stripe":
        from serve_app.payments.stripe_gateway import StripeGateway

        return StripeGateway(settings.stripe_api_key.get_secret_value(), api_base=settings.stripe_api_base)
    from serve_app.payments.simulated import SimulatedGateway

    if settings.mode == "production":
        log.warning("COMMERCE_PAYMENT_GATEWAY=simulated in production: no money is moved")
    return SimulatedGateway(pool)
