"""Login throttling over HTTP: 429 `too_many_attempts` with Retry-After.

The limits of the running app are the defaults (5 per email, 15 min); the
window lifting is shown in tests/integration/test_identity_throttle.py with a
2-second window.
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from serve_app.identity.throttle import key_hash
from tests.e2e.test_foundation_http import assert_error_body
from tests.e2e.test_identity_auth_http import PASSWORD, register


@pytest.fixture
def clean_client_counter(system):
    """All test traffic comes from 127.0.0.1: give back the failures this test spent
    from the shared per-client budget, so later tests (and later runs against a
    persistent DATABASE_URL) are not throttled by it."""
    yield

    async def clear() -> int:
        async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
            cur = await conn.execute("DELETE FROM login_failures WHERE scope = 'client' AND key_hash = %s",
                                     (key_hash("client", "127.0.0.1"),))
            await conn.commit()
            return cur.rowcount

    # Exactly one counter: the replica saw every request as coming from 127.0.0.1
    # (the HAProxy ingress does not pass the client's address on; see README).
    assert asyncio.run(clear()) == 1


def test_too_many_failures_for_one_email_is_429(system, http, clean_client_counter):
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


def test_success_resets_the_email_counter(system, http, clean_client_counter):
    email = register(http)["user"]["email"]
    for _ in range(system.settings.login_max_failures - 1):
        http.post("/api/auth/login", json={"email": email, "password": "wrong guess"})
    assert http.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200
    for _ in range(system.settings.login_max_failures - 1):
        http.post("/api/auth/login", json={"email": email, "password": "wrong guess"})
    assert http.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200
