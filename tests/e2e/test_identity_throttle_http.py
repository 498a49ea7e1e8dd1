"""Login throttling over HTTP: 429 `too_many_attempts` with Retry-After.

The limits of the running app are the defaults (5 per email, 15 min); the
window lifting is shown in tests/integration/test_identity_throttle.py with a
2-second window.
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from tests.e2e.test_foundation_http import assert_error_body
from tests.e2e.test_identity_auth_http import PASSWORD, register


def client_failures(system) -> int:
    """Failures counted per client, all clients together."""
    async def count() -> int:
        async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
            return (await (await conn.execute(
                "SELECT coalesce(sum(failures), 0) FROM login_failures WHERE scope = 'client'")).fetchone())[0]

    return asyncio.run(count())


def test_too_many_failures_for_one_email_is_429(system, http):
    email = register(http)["user"]["email"]
    limit = system.settings.login_max_failures
    for _ in range(limit):
        assert_error_body(http.post("/api/auth/login", json={"email": email, "password": "wrong guess"}),
                          401, "invalid_credentials")
    # Even the right password is refused now: the counter, not the guess, decides.
    throttled = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    error = assert_error_body(throttled, 429, "too_many_attempts")
    retry_after = int(throttled.headers["Retry-After"])
    assert 1 <= retry_after <= system.settings.login_failure_window_s
    assert error["details"]["retry_after_s"] == pytest.approx(retry_after, abs=1)
    # Another account is not affected.
    other = register(http)["user"]["email"]
    assert http.post("/api/auth/login", json={"email": other, "password": PASSWORD}).status_code == 200


def test_success_resets_the_email_counter(system, http):
    email = register(http)["user"]["email"]
    for _ in range(system.settings.login_max_failures - 1):
        http.post("/api/auth/login", json={"email": email, "password": "wrong guess"})
    assert http.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200
    for _ in range(system.settings.login_max_failures - 1):
        http.post("/api/auth/login", json={"email": email, "password": "wrong guess"})
    assert http.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200


def test_behind_the_haproxy_ingress_failures_elsewhere_never_lock_out_another_shopper(system, http):
    """Every request reaches the replica from the proxy, so a per-client budget would be one
    budget for everyone: a flash sale's first few dozen typos would refuse every sign-in."""
    assert system.settings.ingress_mode == "haproxy"
    shopper = register(http)["user"]["email"]
    counted = client_failures(system)
    for i in range(4 * system.settings.login_max_failures + 1):  # past the per-client limit (4x)
        assert_error_body(http.post("/api/auth/login", json={"email": f"typo-{i}@example.test", "password": "x" * 8}),
                          401, "invalid_credentials")
    assert http.post("/api/auth/login", json={"email": shopper, "password": PASSWORD}).status_code == 200
    assert client_failures(system) == counted  # nothing counted against "the proxy"
