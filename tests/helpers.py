"""Small helpers shared by the HTTP tests: users with tokens, polling."""

from __future__ import annotations

import asyncio
import time

import psycopg

from serve_app.identity.tokens import TokenService
from tests.factories import make_user


async def users_with_tokens(system, role: str, n: int) -> list[tuple[str, dict]]:
    """n fresh users of `role`, each with an Authorization header."""
    tokens = TokenService(system.settings)
    out = []
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        for _ in range(n):
            user_id = str(await make_user(conn, role))
            out.append((user_id, {"Authorization": f"Bearer {tokens.issue(user_id, role)}"}))
        await conn.commit()
    return out


async def eventually(check, *, timeout_s: float = 30.0, interval_s: float = 0.25):
    """Poll `check()` (sync or async) until it returns a truthy value; return it."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval_s)
    raise AssertionError(f"condition not met in {timeout_s}s (last: {last!r})")
