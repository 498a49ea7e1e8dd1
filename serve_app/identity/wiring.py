"""Builds the identity services a replica (or the CLI) needs from settings."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from config import Settings
from serve_app.identity.addresses import AddressBook
from serve_app.identity.passwords import Passwords
from serve_app.identity.profile import ProfileService
from serve_app.identity.revocation import Revocations
from serve_app.identity.service import IdentityService
from serve_app.identity.throttle import LoginThrottle
from serve_app.identity.tokens import TokenService

# The per-client failure limit, as a multiple of the per-email one (5 -> 20):
# one address may legitimately serve several people (an office, a NAT).
CLIENT_LIMIT_FACTOR = 4


@dataclass(frozen=True)
class Identity:
    auth: IdentityService
    profiles: ProfileService
    addresses: AddressBook
    revocations: Revocations


def build_identity(
    settings: Settings, pool: AsyncConnectionPool, tokens: TokenService, *, passwords: Passwords | None = None
) -> Identity:
    passwords = passwords or Passwords()
    throttle = LoginThrottle(
        pool, max_per_email=settings.login_max_failures,
        max_per_client=CLIENT_LIMIT_FACTOR * settings.login_max_failures,
        window_s=settings.login_failure_window_s,
    )
    revocations = Revocations(pool, poll_dsn=settings.database_url)
    return Identity(
        auth=IdentityService(pool, tokens, passwords, throttle, refresh_ttl_s=settings.refresh_token_ttl_s),
        profiles=ProfileService(pool, passwords, throttle, revocations),
        addresses=AddressBook(pool),
        revocations=revocations,
    )
