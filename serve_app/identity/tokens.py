"""Access tokens: short-lived JWTs with pinned algorithms.

Claims `sub, role, iat, exp, iss, aud, jti`, plus `gen`: the user's token
generation when the token was issued. A password change or an erasure bumps
the generation in `users`, which revokes every earlier access token at once
(see `serve_app/identity/revocation.py`). A counter rather than a "valid
after" time, because `iat` has whole-second precision: a token issued in the
same second right after a password change must still work. Tokens without
`gen` read as generation 0.

Verification accepts exactly the configured algorithm (never `none`, never an
HS/RS swap), and requires every claim, so a token minted for another audience
or issuer is refused.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal

import jwt

from config import Settings
from domain.errors import Unauthenticated

Role = Literal["shopper", "seller", "admin"]
ROLES: tuple[Role, ...] = ("shopper", "seller", "admin")
REQUIRED_CLAIMS = ["sub", "role", "iat", "exp", "iss", "aud", "jti"]
# Verified tokens remembered per process: a shopper's token is checked once,
# not on every request (a tenth of a refusal's CPU in a flash sale). Only
# the expiry is time-dependent, and it is checked on every hit.
VERIFIED_CACHE_MAX = 20_000


@dataclass(frozen=True)
class Principal:
    """Who is calling: what every authorization rule looks at."""

    user_id: str
    role: Role
    token_id: str
    issued_at: int
    expires_at: int
    generation: int = 0


class TokenService:
    def __init__(self, settings: Settings):
        self._algorithm = settings.jwt_algorithm
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self.access_ttl_s = settings.access_token_ttl_s
        if self._algorithm == "HS256":
            if settings.jwt_secret is None:
                raise ValueError("HS256 needs a JWT secret: call Settings.with_secrets() first")
            self._signing_key = self._verify_key = settings.jwt_secret.get_secret_value()
        else:
            self._signing_key = settings.jwt_private_key_file.read_bytes()
            self._verify_key = settings.jwt_public_key_file.read_bytes()
        self._verified: dict[str, Principal] = {}  # insertion-ordered: the oldest is evicted first

    def issue(self, user_id: str, role: Role, *, now: float | None = None, generation: int = 0) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "sub": user_id, "role": role, "iat": issued, "exp": issued + self.access_ttl_s,
            "iss": self._issuer, "aud": self._audience, "jti": uuid.uuid4().hex, "gen": generation,
        }
        return jwt.encode(claims, self._signing_key, algorithm=self._algorithm)

    def verify(self, token: str) -> Principal:
        principal = self._verified.get(token)
        if principal is None:
            principal = self._decode(token)
            if len(self._verified) >= VERIFIED_CACHE_MAX:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = principal
        elif principal.expires_at <= time.time():  # as PyJWT: expired once exp <= now
            del self._verified[token]
            raise Unauthenticated("The access token has expired.", code="token_expired")
        return principal

    def _decode(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self._verify_key, algorithms=[self._algorithm],
                audience=self._audience, issuer=self._issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The access token has expired.", code="token_expired") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"The access token is invalid ({_reason(exc)}).", code="invalid_token") from None
        if claims["role"] not in ROLES:
            raise Unauthenticated("The access token is invalid (unknown role).", code="invalid_token")
        generation = claims.get("gen", 0)
        if type(generation) is not int or generation < 0:
            raise Unauthenticated("The access token is invalid (bad generation).", code="invalid_token")
        return Principal(
            user_id=str(claims["sub"]), role=claims["role"], token_id=claims["jti"],
            issued_at=int(claims["iat"]), expires_at=int(claims["exp"]), generation=generation,
        )


def _reason(exc: jwt.InvalidTokenError) -> str:
    # Stable, secret-free reasons for the error message.
    for error_type, reason in (
        (jwt.InvalidAudienceError, "wrong audience"),
        (jwt.InvalidIssuerError, "wrong issuer"),
        (jwt.InvalidAlgorithmError, "algorithm not allowed"),
        (jwt.InvalidSignatureError, "bad signature"),
        (jwt.MissingRequiredClaimError, "missing claim"),
        (jwt.DecodeError, "malformed"),
    ):
        if isinstance(exc, error_type):
            return reason
    return "rejected"
