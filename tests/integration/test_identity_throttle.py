"""Login throttling against the real database: limits per email and per client, and the window lifting."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from domain.errors import RateLimited
from serve_app.identity.throttle import LoginThrottle


def email() -> str:
    return f"throttle-{uuid.uuid4().hex}@example.test"


async def fail(throttle: LoginThrottle, who: str, client: str, times: int) -> None:
    for _ in range(times):
        await throttle.check(who, client)
        await throttle.record_failure(who, client)


async def test_email_limit_then_lifts_after_the_window(pool):
    throttle = LoginThrottle(pool, max_per_email=3, max_per_client=100, window_s=2)
    who, client = email(), f"client-{uuid.uuid4().hex}"
    await fail(throttle, who, client, 3)
    with pytest.raises(RateLimited) as caught:
        await throttle.check(who, client)
    assert caught.value.code == "too_many_attempts"
    assert 0 < caught.value.retry_after_s <= 2
    await throttle.check(email(), client)  # another email from the same client is still fine
    await asyncio.sleep(caught.value.retry_after_s + 0.2)
    await throttle.check(who, client)
    # The window started over: one more failure does not throttle again.
    await throttle.record_failure(who, client)
    await throttle.check(who, client)


async def test_client_limit_spans_emails(pool):
    throttle = LoginThrottle(pool, max_per_email=100, max_per_client=4, window_s=60)
    client = f"client-{uuid.uuid4().hex}"
    for _ in range(4):
        await fail(throttle, email(), client, 1)
    with pytest.raises(RateLimited):
        await throttle.check(email(), client)
    await throttle.check(email(), f"client-{uuid.uuid4().hex}")


async def test_success_resets_the_email_counter_only(pool):
    throttle = LoginThrottle(pool, max_per_email=2, max_per_client=3, window_s=60)
    who, client = email(), f"client-{uuid.uuid4().hex}"
    await fail(throttle, who, client, 2)
    with pytest.raises(RateLimited):
        await throttle.check(who, client)
    await throttle.reset_email(who)
    await throttle.check(who, client)
    await throttle.record_failure(who, client)  # the client's third failure
    with pytest.raises(RateLimited):
        await throttle.check(who, client)


async def test_limits_hold_across_instances(pool):
    """Two throttles on one database behave like two Serve replicas."""
    replica_a = LoginThrottle(pool, max_per_email=4, window_s=60)
    replica_b = LoginThrottle(pool, max_per_email=4, window_s=60)
    who = email()
    await fail(replica_a, who, "a", 2)
    await fail(replica_b, who, "b", 2)
    with pytest.raises(RateLimited):
        await replica_a.check(who, "c")


async def test_counters_store_no_email_or_address(pool):
    throttle = LoginThrottle(pool, window_s=60)
    who, client = email(), f"client-{uuid.uuid4().hex}"
    await throttle.record_failure(who, client)
    async with pool.connection() as conn:
        rows = await (await conn.execute("SELECT key_hash FROM login_failures")).fetchall()
    stored = b"".join(bytes(row["key_hash"]) for row in rows)
    assert who.encode() not in stored and client.encode() not in stored
