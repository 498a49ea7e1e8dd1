"""Sign-up, sign-in and sessions: the use cases behind /api/auth/*.

Every state change commits in one transaction together with its event
(outbox). Argon2 work happens before the transaction opens, so no database
connection is held while a hash is computed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from domain.errors import Conflict, Forbidden, Unauthenticated
from events.outbox import append_events
from serve_app.identity import events, refresh
from serve_app.identity.passwords import Passwords
from serve_app.identity.schemas import RegisterRequest
from serve_app.identity.throttle import LoginThrottle
from serve_app.identity.tokens import Principal, TokenService
from storage import identity_tokens, users
from storage.users import User

log = logging.getLogger(__name__)

# Roles anyone may give themselves at registration; admins come from `commerce admin create`.
SELF_SERVICE_ROLES = ("shopper", "seller")


@dataclass(frozen=True)
class Session:
    user: User
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int


class IdentityService:
    def __init__(
        self, pool: AsyncConnectionPool, tokens: TokenService, passwords: Passwords,
        throttle: LoginThrottle, *, refresh_ttl_s: int,
    ):
        self._pool = pool
        self._tokens = tokens
        self.passwords = passwords
        self.throttle = throttle
        self._refresh_ttl_s = refresh_ttl_s

    async def register(self, request: RegisterRequest) -> Session:
        if request.role not in SELF_SERVICE_ROLES:
            raise Forbidden(
                f"Registration may ask for the role {' or '.join(SELF_SERVICE_ROLES)} only.",
                code="role_not_allowed", details={"allowed": list(SELF_SERVICE_ROLES)},
            )
        # Cheap pre-check so a taken email costs no hash; the insert stays race-safe.
        async with self._pool.connection() as conn:
            if await users.email_exists(conn, request.email):
                raise _email_taken()
        password_hash = await self.passwords.hash(request.password)
        async with self._pool.connection() as conn:
            user = await create_account(conn, request.email, request.name, request.role, password_hash)
            session = await self._start_session(conn, user)
        log.info("user registered", extra={"event": "USER_REGISTERED"})
        return session

    async def login(self, email: str, password: str, client: str | None) -> Session:
        await self.throttle.check(email, client)
        async with self._pool.connection() as conn:
            user = await users.get_user_by_email(conn, email)
        verified = await self.passwords.verify(user.password_hash if user else None, password)
        if not verified.ok:
            await self.throttle.record_failure(email, client)
            raise Unauthenticated("Wrong email or password.", code="invalid_credentials")
        await self.throttle.reset_email(email)
        async with self._pool.connection() as conn:
            if verified.new_hash:
                await users.set_password_hash(conn, user.id, verified.new_hash, revoke_tokens=False)
            return await self._start_session(conn, user)

    async def refresh(self, token: str) -> Session:
        digest = refresh.digest(token)
        async with self._pool.connection() as conn:
            found = await identity_tokens.lock_token(conn, digest)
            verdict = refresh.judge(found)
            if verdict.revokes_family:
                await identity_tokens.revoke_family(conn, found["family_id"], "reuse")
                log.warning("refresh token reused: family revoked", extra={"event": "refresh_token_reused"})
            elif verdict is refresh.Verdict.VALID:
                await identity_tokens.spend(conn, digest)
                user = await users.get_user(conn, found["user_id"])
                if user is not None:
                    return await self._start_session(conn, user, family_id=found["family_id"])
                verdict = refresh.Verdict.REVOKED  # erased since the token was read
        # Outside the block: the family's revocation has committed before the 401 goes out.
        raise Unauthenticated(verdict.message, code=verdict.value)

    async def logout(self, token: str, principal: Principal) -> None:
        """Revoke the token's family. Idempotent; another user's token is left alone."""
        async with self._pool.connection() as conn:
            found = await identity_tokens.lock_token(conn, refresh.digest(token))
            if found is not None and str(found["user_id"]) == principal.user_id:
                await identity_tokens.revoke_family(conn, found["family_id"], "logout")

    async def current_user(self, principal: Principal) -> User:
        async with self._pool.connection() as conn:
            user = await users.get_user(conn, uuid.UUID(principal.user_id))
        if user is None:  # erased after the revocation check read its cache
            raise Unauthenticated("The access token was revoked; sign in again.", code="token_revoked")
        return user

    async def _start_session(
        self, conn: AsyncConnection, user: User, *, family_id: uuid.UUID | None = None
    ) -> Session:
        """A new refresh token (in a new family unless rotating) and an access token."""
        if family_id is None:
            family_id = uuid.uuid4()
            await identity_tokens.new_family(conn, family_id, user.id)
        token, digest = refresh.new_refresh_token()
        await identity_tokens.add_token(conn, digest, family_id, user.id, self._refresh_ttl_s)
        access = self._tokens.issue(str(user.id), user.role, generation=user.token_generation)
        return Session(user=user, access_token=access, refresh_token=token, expires_in=self._tokens.access_ttl_s)


async def create_account(conn: AsyncConnection, email: str, name: str, role: str, password_hash: str) -> User:
    """Insert the account and its USER_REGISTERED event in the caller's transaction.

    Shared by registration and `commerce admin create` (the only way to an admin)."""
    user = await users.insert_user(conn, uuid.uuid4(), email, name, role, password_hash)
    if user is None:
        raise _email_taken()
    await append_events(conn, [events.user_registered(user)])
    return user


def _email_taken() -> Conflict:
    return Conflict("An account with this email already exists.", code="email_taken")
