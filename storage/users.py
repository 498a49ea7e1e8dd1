"""SQL for accounts (`users`). Every function runs in the caller's transaction.

Cursors set their own row factory, so these work on any connection (the
pool's dict rows or a plain CLI connection).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import dict_row, tuple_row

_COLUMNS = (
    "id, email, name, role, password_hash, token_generation, notify_email, notify_sms, "
    "created_at, updated_at, deleted_at"
)
# Columns a profile update may set directly.
PROFILE_COLUMNS = frozenset({"name", "email", "notify_email", "notify_sms"})
# The one way to revoke a user's access tokens, part of every UPDATE that does:
# a new generation, stamped so that every replica's poll (`token_revisions_since`)
# sees it. clock_timestamp: the statement's time, not the transaction's start.
_REVOKE_TOKENS = (
    "token_generation = token_generation + 1, tokens_revised_at = clock_timestamp(), updated_at = now()"
)


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    name: str
    role: str
    password_hash: str = field(repr=False)
    token_generation: int
    notify_email: bool
    notify_sms: bool
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class TokenState:
    """What access-token revocation looks at: one primary-key lookup."""

    token_generation: int
    deleted: bool


@dataclass(frozen=True)
class TokenRevision:
    """A user whose access tokens were revoked, as `token_revisions_since` finds them."""

    user_id: uuid.UUID
    state: TokenState
    revised_at: datetime


def tombstone_email(user_id: uuid.UUID) -> str:
    # `.invalid` is reserved (RFC 2606) and has no dot-separated domain, so
    # registration's email rule can never produce it: no clash, no delivery.
    return f"deleted-{user_id}@invalid"


async def _one(conn: AsyncConnection, sql: str, params: tuple) -> User | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        row = await cur.fetchone()
    return User(**row) if row else None


async def insert_user(
    conn: AsyncConnection, user_id: uuid.UUID, email: str, name: str, role: str, password_hash: str
) -> User | None:
    """Create an account; None when the email is taken (race-safe through the unique index)."""
    return await _one(
        conn,
        f"""INSERT INTO users (id, email, name, role, password_hash) VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (email) DO NOTHING RETURNING {_COLUMNS}""",
        (user_id, email, name, role, password_hash),
    )


async def get_user(conn: AsyncConnection, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
    """A live (not erased) account by id."""
    lock = " FOR UPDATE" if for_update else ""
    return await _one(conn, f"SELECT {_COLUMNS} FROM users WHERE id = %s AND deleted_at IS NULL{lock}", (user_id,))


async def get_user_by_email(conn: AsyncConnection, email: str) -> User | None:
    return await _one(conn, f"SELECT {_COLUMNS} FROM users WHERE email = %s AND deleted_at IS NULL", (email,))


async def email_exists(conn: AsyncConnection, email: str) -> bool:
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute("SELECT 1 FROM users WHERE email = %s", (email,))
        return await cur.fetchone() is not None


async def token_state(conn: AsyncConnection, user_id: uuid.UUID) -> TokenState | None:
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute("SELECT token_generation, deleted_at IS NOT NULL FROM users WHERE id = %s", (user_id,))
        row = await cur.fetchone()
    return TokenState(*row) if row else None


async def token_revisions_since(
    conn: AsyncConnection, since: datetime | None
) -> tuple[list[TokenRevision], datetime]:
    """Users revised after `since` (none when `since` is None), and the database's `now()`.

    One statement, one round trip: the LEFT JOIN yields the clock alone when no
    user matches. Served by the partial index `users_tokens_revised`."""
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(
            """SELECT clock.now, u.id, u.token_generation, u.deleted_at IS NOT NULL, u.tokens_revised_at
               FROM (SELECT now()) AS clock
               LEFT JOIN users AS u ON u.tokens_revised_at > %s""",
            (since,),
        )
        rows = await cur.fetchall()
    revisions = [
        TokenRevision(user_id, TokenState(generation, deleted), revised_at)
        for _, user_id, generation, deleted, revised_at in rows
        if user_id is not None
    ]
    return revisions, rows[0][0]


async def update_profile(conn: AsyncConnection, user_id: uuid.UUID, changes: dict[str, object]) -> User | None:
    """Set profile columns; raises psycopg's UniqueViolation when a new email is taken."""
    unknown = set(changes) - PROFILE_COLUMNS
    if unknown:
        raise ValueError(f"not profile columns: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = %s" for column in changes)
    return await _one(
        conn,
        f"""UPDATE users SET {assignments}, updated_at = now()
            WHERE id = %s AND deleted_at IS NULL RETURNING {_COLUMNS}""",
        (*changes.values(), user_id),
    )


async def set_password_hash(
    conn: AsyncConnection, user_id: uuid.UUID, password_hash: str, *, revoke_tokens: bool
) -> None:
    """Store a new hash. A password change revokes access tokens (generation + 1);
    a rehash of the same password at sign-in does not."""
    bump = f", {_REVOKE_TOKENS}" if revoke_tokens else ""
    await conn.execute(f"UPDATE users SET password_hash = %s{bump} WHERE id = %s", (password_hash, user_id))


async def erase(conn: AsyncConnection, user_id: uuid.UUID) -> bool:
    """Remove personal data but keep the row (orders and products reference it)."""
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(
            f"""UPDATE users SET name = '', email = %s, password_hash = '', notify_email = false,
                      notify_sms = false, deleted_at = now(), {_REVOKE_TOKENS}
               WHERE id = %s AND deleted_at IS NULL""",
            (tombstone_email(user_id), user_id),
        )
        return cur.rowcount == 1


async def scrub_events(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    """Drop personal fields from this user's events in the outbox (the replay source).

    Copies already published stay in JetStream until the stream's limits drop
    them: the stream has no `max_age` yet (see README, Identity)."""
    await conn.execute(
        """UPDATE outbox SET data = data - 'email' - 'name'
           WHERE aggregate_id = %s AND aggregate_type = 'user' AND data ?| array['email', 'name']""",
        (str(user_id),),
    )
