"""Login throttling: failed sign-ins per email and per client address, in PostgreSQL.

Counters live in the database (`login_failures`, upserted), not in memory, so
the limits hold across every Serve replica. Each key gets a fixed window that
starts at its first failure; when the count reaches the limit, sign-in for
that key answers 429 `too_many_attempts` with `Retry-After` = the rest of the
window, even with the right password. A successful sign-in clears the email's
counter, never the client's (an attacker with one valid account must not
reset the counter for the addresses it is spraying from).

Keys are stored as SHA-256 digests: the table holds no email or IP address.

The check and the count are two statements, so a burst of concurrent wrong
guesses can overshoot the limit by the burst's size; the next attempt after
it is still refused.
"""

from __future__ import annotations

import hashlib
import random

from psycopg_pool import AsyncConnectionPool

from domain.errors import RateLimited
from storage import identity_throttle as sql

# Roughly one failure in this many also deletes counters whose window ended.
PURGE_EVERY = 200


def key_hash(scope: str, key: str) -> bytes:
    return hashlib.sha256(f"{scope}:{key}".encode()).digest()


class LoginThrottle:
    def __init__(
        self, pool: AsyncConnectionPool, *, max_per_email: int = 5, max_per_client: int = 20,
        window_s: float = 900.0,
    ):
        if min(max_per_email, max_per_client) < 1 or window_s <= 0:
            raise ValueError("limits must be >= 1 and the window > 0")
        self._pool = pool
        self._limits = {"email": max_per_email, "client": max_per_client}
        self.window_s = window_s

    def _keys(self, email: str, client: str | None) -> list[tuple[str, bytes]]:
        keys = [("email", key_hash("email", email))]
        if client:
            keys.append(("client", key_hash("client", client)))
        return keys

    async def check(self, email: str, client: str | None) -> None:
        """Raise RateLimited when the email or the client used up its failures."""
        async with self._pool.connection() as conn:
            rows = await sql.failures_in_window(conn, self._keys(email, client), self.window_s)
        waits = [remaining for scope, failures, remaining in rows if failures >= self._limits[scope]]
        if waits:
            retry_after = max(waits)
            raise RateLimited(
                "Too many failed sign-in attempts; try again later.",
                code="too_many_attempts", retry_after_s=retry_after,
                details={"retry_after_s": max(1, round(retry_after))},
            )

    async def record_failure(self, email: str, client: str | None) -> None:
        async with self._pool.connection() as conn:
            for scope, digest in self._keys(email, client):
                await sql.add_failure(conn, scope, digest, self.window_s)
            if random.randrange(PURGE_EVERY) == 0:
                await sql.purge_expired(conn, self.window_s)

    async def reset_email(self, email: str) -> None:
        async with self._pool.connection() as conn:
            await sql.clear(conn, "email", key_hash("email", email))
