"""The signed-in user's own account: profile changes, password change, erasure.

- Changing the email or the password needs `current_password`; a wrong one is
  403 `invalid_current_password` (not 401: the access token itself is fine)
  and counts as a failed sign-in for the throttle, so a stolen access token is
  no password oracle.
- A password change bumps the token generation (every access token issued
  before stops working, the caller's too) and revokes every refresh family.
- Erasure keeps the row (foreign keys from orders and products hold) but
  removes what identifies the person, and revokes every token.
"""

from __future__ import annotations

import uuid

from psycopg.errors import UniqueViolation
from psycopg_pool import AsyncConnectionPool

from domain.errors import Conflict, Forbidden, InvalidInput, Unauthenticated
from events.outbox import append_events
from serve_app.identity import events
from serve_app.identity.passwords import Passwords
from serve_app.identity.revocation import Revocations
from serve_app.identity.schemas import UserUpdate
from serve_app.identity.throttle import LoginThrottle
from serve_app.identity.tokens import Principal
from storage import cart, identity_addresses, identity_tokens, notifications, orders, users
from storage.users import User


class ProfileService:
    def __init__(
        self, pool: AsyncConnectionPool, passwords: Passwords, throttle: LoginThrottle, revocations: Revocations
    ):
        self._pool = pool
        self._passwords = passwords
        self._throttle = throttle
        self._revocations = revocations

    async def update(self, principal: Principal, request: UserUpdate, client: str | None) -> User:
        user_id = uuid.UUID(principal.user_id)
        async with self._pool.connection() as conn:
            user = await users.get_user(conn, user_id)
        if user is None:
            raise Unauthenticated("The access token was revoked; sign in again.", code="token_revoked")
        changes = _profile_changes(user, request)
        new_hash = None
        if "email" in changes or request.new_password is not None:
            await self._check_current_password(user, request.current_password, client)
        if request.new_password is not None:
            new_hash = await self._passwords.hash(request.new_password)
        changed = [("notification_preferences" if c.startswith("notify_") else c) for c in changes]
        async with self._pool.connection() as conn:
            if changes:
                try:
                    user = await users.update_profile(conn, user_id, changes)
                except UniqueViolation:
                    raise Conflict("An account with this email already exists.", code="email_taken") from None
                if user is None:  # erased meanwhile
                    raise Unauthenticated("The access token was revoked; sign in again.", code="token_revoked")
            if new_hash is not None:
                await users.set_password_hash(conn, user_id, new_hash, revoke_tokens=True)
                await identity_tokens.revoke_user_families(conn, user_id, "password_change")
                user = await users.get_user(conn, user_id)
                changed.append("password")
            if changed:
                await append_events(conn, [events.user_updated(user_id, sorted(set(changed)))])
        if new_hash is not None:
            self._revocations.forget(user_id)
        return user

    async def erase(self, principal: Principal) -> None:
        user_id = uuid.UUID(principal.user_id)
        async with self._pool.connection() as conn:
            if not await users.erase(conn, user_id):
                raise Unauthenticated("The access token was revoked; sign in again.", code="token_revoked")
            await identity_addresses.delete_all(conn, user_id)
            await identity_tokens.revoke_user_families(conn, user_id, "erased")
            await users.scrub_events(conn, user_id)
            # Personal data kept elsewhere: the cart, stored messages, order addresses.
            await cart.clear_cart(conn, str(user_id))
            await notifications.erase_user(conn, user_id)
            await orders.anonymise_user_orders(conn, user_id)
            await append_events(conn, [events.user_deleted(user_id)])
        self._revocations.forget(user_id)

    async def _check_current_password(self, user: User, current_password: str | None, client: str | None) -> None:
        if current_password is None:
            raise InvalidInput(
                "Changing the email or the password needs `current_password`.", code="current_password_required"
            )
        await self._throttle.check(user.email, client)
        if not (await self._passwords.verify(user.password_hash, current_password)).ok:
            await self._throttle.record_failure(user.email, client)
            raise Forbidden("The current password is wrong.", code="invalid_current_password")


def _profile_changes(user: User, request: UserUpdate) -> dict[str, object]:
    """Columns whose value actually changes (an explicit null means "leave as is")."""
    wanted: dict[str, object] = {}
    if request.name is not None:
        wanted["name"] = request.name
    if request.email is not None:
        wanted["email"] = request.email
    prefs = request.notification_preferences
    if prefs is not None:
        if prefs.email is not None:
            wanted["notify_email"] = prefs.email
        if prefs.sms is not None:
            wanted["notify_sms"] = prefs.sms
    return {column: value for column, value in wanted.items() if getattr(user, column) != value}
