"""Authorization as FastAPI dependencies: one dependency per rule.

- `current_principal`: signed in (a valid access token), else 401.
- `require_roles(...)`: has one of the roles, else 403.
Ownership is checked where the resource is loaded: another user's resource is
a 404 (`domain.errors.NotFound`), never a 403, so ids cannot be probed.
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from domain.errors import Forbidden, Unauthenticated
from serve_app.identity.tokens import Principal, Role

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/auth/login")


async def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("Sign in: send `Authorization: Bearer <access_token>`.")
    services = request.app.state.services
    principal = services.tokens.verify(credentials.credentials)
    # Revocation (logout, password change, erasure) is checked against the
    # revocation list the identity service keeps, when one is configured.
    if services.revocations is not None:
        await services.revocations.ensure_not_revoked(principal)
    return principal


def require_roles(*roles: Role):
    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"This needs the role {' or '.join(roles)}.", code="forbidden")
        return principal

    return dependency
