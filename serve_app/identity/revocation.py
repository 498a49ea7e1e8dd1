"""Access-token revocation: the `revocations` object `serve_app/auth.py` calls.

An access token carries the user's token generation (claim `gen`). It is
refused (401 `token_revoked`) when the user's current generation differs, the
user was erased, or the user does not exist. A password change or an erasure
bumps the generation, so every access token issued before stops working.

Cost: one primary-key lookup per request, softened by a tiny per-process
cache of at most `ttl_s` (default 1 s):
- the replica that made the change forgets its entry at once, so it never
  accepts a revoked token;
- another replica may accept a revoked token for at most `ttl_s` after the
  change: the documented window;
- a token newer than the cached generation always triggers a fresh lookup,
  so a just-issued token is never refused because of a stale entry.
Logout revokes the refresh family only; its access token lives out its
(short) lifetime, as with any stateless JWT.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from psycopg_pool import AsyncConnectionPool

from domain.errors import Unauthenticated
from serve_app.identity.tokens import Principal
from storage.users import TokenState, token_state

DEFAULT_TTL_S = 1.0
MAX_ENTRIES = 50_000


class Revocations:
    def __init__(
        self, pool: AsyncConnectionPool, *, ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not 0 <= ttl_s <= 1:
            raise ValueError("the revocation cache may hold entries for at most 1 s")
        self._pool = pool
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[uuid.UUID, tuple[float, TokenState | None]] = {}

    async def ensure_not_revoked(self, principal: Principal) -> None:
        try:
            user_id = uuid.UUID(principal.user_id)
        except ValueError:
            raise Unauthenticated("The access token is invalid (bad subject).", code="invalid_token") from None
        state = self._cached(user_id)
        if state is None or principal.generation > state.token_generation:
            state = await self._load(user_id)
        if state is None or state.deleted or principal.generation != state.token_generation:
            raise Unauthenticated("The access token was revoked; sign in again.", code="token_revoked")

    def forget(self, user_id: uuid.UUID) -> None:
        """Drop a cached entry: called by this replica right after it revokes tokens."""
        self._cache.pop(user_id, None)

    def _cached(self, user_id: uuid.UUID) -> TokenState | None:
        entry = self._cache.get(user_id)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    async def _load(self, user_id: uuid.UUID) -> TokenState | None:
        async with self._pool.connection() as conn:
            state = await token_state(conn, user_id)
        if self._ttl_s > 0:
            if len(self._cache) >= MAX_ENTRIES:
                self._cache.clear()
            self._cache[user_id] = (self._clock() + self._ttl_s, state)
        return state
