"""Access-token revocation: the `revocations` object `serve_app/auth.py` calls.

An access token carries the user's token generation (claim `gen`). It is
refused (401 `token_revoked`) when the user's current generation differs, the
user was erased, or the user does not exist. A password change or an erasure
bumps the generation (and stamps `users.tokens_revised_at`), so every access
token issued before stops working.

Cost: no database work per request in the steady state. Each replica keeps the
state of the users it has seen (`known`, filled by one primary-key lookup the
first time a user shows up) and refreshes it with ONE poll per second for the
users revised since its previous poll (`storage.users.token_revisions_since`,
from the database's clock minus an overlap of `overlap_s`, so a revoking
transaction that commits late is still seen). Started and stopped by the
replica's lifespan (`start()` / `close()`); without a running poller (CLI,
tests) every check is a lookup.
- another replica may accept a revoked token for about `poll_interval_s`
  (1 s, + the poll's own time) after the change, and never longer than
  `stale_after_s` (5 s, a replica so busy that its polls are slow);
- memory is trusted only while the last successful poll's query was sent less
  than `stale_after_s` ago; when polling fails or stops, the replica falls
  back to one lookup per request (correct, just slower);
- the replica that made the change forgets its entry at once, so it never
  accepts a revoked token;
- a token newer than the known generation always triggers a fresh lookup, so
  a just-issued token is never refused because of a stale entry;
- a token older than the known generation, or of an erased user, is refused
  from memory even when the poll is stale: generations only grow.
Logout revokes the refresh family only; its access token lives out its
(short) lifetime, as with any stateless JWT.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import psycopg
from psycopg_pool import AsyncConnectionPool

from domain.errors import Unauthenticated
from serve_app.identity.tokens import Principal
from storage.pool import reading
from storage.users import TokenState, token_revisions_since, token_state

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0
# Not 2 s: a replica saturated by a flash sale can take over a second to run
# one poll, and falling back to a lookup per request then only deepens the
# overload (measured: the fallback became ~14% of the ingress's CPU).
STALE_AFTER_S = 5.0
OVERLAP_S = 10.0
MAX_ENTRIES = 100_000


def accepts(state: TokenState | None, generation: int) -> bool:
    """The rule: a live user whose current generation is the token's."""
    return state is not None and not state.deleted and state.token_generation == generation


def newer(state: TokenState, than: TokenState) -> bool:
    """Generations only grow and erasure is final: the later of two observations."""
    return (state.token_generation, state.deleted) > (than.token_generation, than.deleted)


def _subject(principal: Principal) -> uuid.UUID | None:
    try:
        return uuid.UUID(principal.user_id)
    except ValueError:
        return None


class Revocations:
    def __init__(
        self, pool: AsyncConnectionPool, *, poll_interval_s: float = POLL_INTERVAL_S,
        stale_after_s: float = STALE_AFTER_S, overlap_s: float = OVERLAP_S, max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic, poll_dsn: str | None = None,
    ):
        if not 0 < poll_interval_s < stale_after_s:
            raise ValueError("memory must go stale after more than one poll interval")
        self._pool = pool
        # With a DSN the poll keeps a connection of its own: in a flash sale the
        # replica's pool is saturated by checkouts, and a poll queued behind them
        # let memory go stale, which sent every request to the database.
        self._poll_dsn = poll_dsn
        self._poll_conn: psycopg.AsyncConnection | None = None
        self._poll_interval_s = poll_interval_s
        self._stale_after_s = stale_after_s
        self._overlap = timedelta(seconds=overlap_s)
        self._max_entries = max_entries
        self._clock = clock
        # Insertion-ordered: the first key is the oldest, evicted first.
        self.known: dict[uuid.UUID, TokenState] = {}
        self._since: datetime | None = None  # the next poll's reference, on the database's clock
        self._fresh_until = float("-inf")
        self._forgets = 0  # bumped by forget(): a lookup that straddles one must not store its result
        # Lookups under way, shared by concurrent requests of one user (a flash
        # sale's shoppers all arrive at once); never shared across a forget().
        self._lookups: dict[uuid.UUID, asyncio.Task] = {}
        self._task: asyncio.Task | None = None

    def verdict(self, principal: Principal) -> bool | None:
        """True: valid, from fresh memory. False: revoked. None: ask the database.

        No I/O. A malformed subject is None too: `ensure_not_revoked` names it."""
        user_id = _subject(principal)
        return None if user_id is None else self._verdict(user_id, principal.generation)

    async def ensure_not_revoked(self, principal: Principal) -> None:
        user_id = _subject(principal)
        if user_id is None:
            raise Unauthenticated("The access token is invalid (bad subject).", code="invalid_token")
        verdict = self._verdict(user_id, principal.generation)
        if verdict is None:
            verdict = accepts(await self._load(user_id), principal.generation)
        if not verdict:
            raise Unauthenticated("The access token was revoked; sign in again.", code="token_revoked")

    def _verdict(self, user_id: uuid.UUID, generation: int) -> bool | None:
        state = self.known.get(user_id)
        if state is None:
            return None
        if state.deleted or generation < state.token_generation:
            return False
        if generation > state.token_generation or self._clock() >= self._fresh_until:
            return None
        return True

    def forget(self, user_id: uuid.UUID) -> None:
        """Drop an entry: called by this replica right after it revokes the user's tokens."""
        self._forgets += 1
        self.known.pop(user_id, None)
        self._lookups.pop(user_id, None)  # a lookup under way may predate the revocation

    async def start(self) -> None:
        """Start polling (the replica's lifespan); idempotent."""
        if self._task is None:
            self._task = asyncio.create_task(self._poll_forever(), name="token-revisions-poll")

    async def close(self) -> None:
        """Stop polling; memory is no longer trusted (lookups from now on)."""
        task, self._task = self._task, None
        self._fresh_until = float("-inf")
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self._poll_conn is not None:
            await self._poll_conn.close()
            self._poll_conn = None

    async def poll(self) -> None:
        """One poll: apply the revisions since the previous one to the users already known."""
        async with self._poll_connection() as conn:
            # Timed from the query, not from waiting for a connection: what the
            # query reads is the database as of (after) this moment.
            started = self._clock()
            revisions, db_now = await token_revisions_since(conn, self._since)
        if self._since is None:
            # Nothing covered what happened before this first poll.
            self.known.clear()
        for revision in revisions:
            current = self.known.get(revision.user_id)
            if current is not None and newer(revision.state, current):
                self.known[revision.user_id] = revision.state
        self._since = db_now - self._overlap
        self._fresh_until = started + self._stale_after_s

    @asynccontextmanager
    async def _poll_connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        if self._poll_dsn is None:
            async with self._pool.connection(timeout=self._stale_after_s) as conn:
                yield conn
            return
        if self._poll_conn is None or self._poll_conn.closed:
            self._poll_conn = await psycopg.AsyncConnection.connect(
                self._poll_dsn, autocommit=True, connect_timeout=max(1, int(self._stale_after_s)))
        try:
            yield self._poll_conn
        except Exception:
            await self._poll_conn.close()  # reconnect on the next poll
            self._poll_conn = None
            raise

    async def _poll_forever(self) -> None:
        failing = False
        while True:
            started = time.monotonic()  # pacing only; freshness uses `clock`
            try:
                await self.poll()
                if failing:
                    log.info("token revision poll recovered")
                failing = False
            except Exception:
                if not failing:
                    log.warning("token revision poll failed; per-request lookups until it recovers", exc_info=True)
                failing = True
            await asyncio.sleep(max(0.0, self._poll_interval_s - (time.monotonic() - started)))

    async def _load(self, user_id: uuid.UUID) -> TokenState | None:
        lookup = self._lookups.get(user_id)
        if lookup is None:
            lookup = self._lookups[user_id] = asyncio.create_task(self._lookup(user_id))
            lookup.add_done_callback(lambda done: self._lookup_done(user_id, done))
        return await asyncio.shield(lookup)  # one caller's cancellation must not cancel the others' lookup

    def _lookup_done(self, user_id: uuid.UUID, lookup: asyncio.Task) -> None:
        if self._lookups.get(user_id) is lookup:
            del self._lookups[user_id]

    async def _lookup(self, user_id: uuid.UUID) -> TokenState | None:
        forgets = self._forgets
        async with reading(self._pool) as conn:
            state = await token_state(conn, user_id)
        if state is not None and forgets == self._forgets:
            self._remember(user_id, state)
        return state

    def _remember(self, user_id: uuid.UUID, state: TokenState) -> None:
        current = self.known.get(user_id)
        if current is None:
            if len(self.known) >= self._max_entries:
                del self.known[next(iter(self.known))]
            self.known[user_id] = state
        elif newer(state, current):
            self.known[user_id] = state
