"""Refresh tokens: random, stored as SHA-256 digests, rotated on every use.

The rules, as a pure function of what the database says about a presented
token (so they are unit-tested without a server):

- unknown token                  -> refused
- its family was revoked         -> refused (logout, password change, erasure, earlier theft)
- already spent                  -> refused AND the family is revoked: someone
                                    holds a copy (theft detection), so every
                                    token of that family dies, the newest too
- expired, or the user is erased -> refused
- otherwise                      -> spend it, hand out the next one of the family

A plain SHA-256 (no salt, no argon2) is enough: the token has 256 random bits,
so there is nothing to brute-force, and lookups stay one index probe.
"""

from __future__ import annotations

import enum
import hashlib
import secrets

TOKEN_BYTES = 32


def new_refresh_token() -> tuple[str, bytes]:
    """A fresh token and the digest to store; the token itself is never stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, digest(token)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Verdict(enum.Enum):
    VALID = "valid"
    UNKNOWN = "invalid_refresh_token"
    REVOKED = "refresh_token_revoked"
    REUSED = "refresh_token_reused"
    EXPIRED = "refresh_token_expired"

    @property
    def revokes_family(self) -> bool:
        return self is Verdict.REUSED

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Verdict.VALID: "",
    Verdict.UNKNOWN: "The refresh token is not valid; sign in again.",
    Verdict.REVOKED: "The refresh token was revoked; sign in again.",
    Verdict.REUSED: "The refresh token was already used; every session of that sign-in is now revoked.",
    Verdict.EXPIRED: "The refresh token has expired; sign in again.",
}


def judge(found: dict | None) -> Verdict:
    """`found` is `storage.identity_tokens.lock_token`'s row (or None)."""
    if found is None:
        return Verdict.UNKNOWN
    if found["family_revoked"] or found["user_deleted"]:
        return Verdict.REVOKED
    if found["spent"]:
        return Verdict.REUSED
    if found["expired"]:
        return Verdict.EXPIRED
    return Verdict.VALID
