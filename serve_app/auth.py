"""Authorization as FastAPI dependencies: one dependency per rule.

- `current_principal`: signed in (a valid, unrevoked access token), else 401.
- `require_roles(...)`: has one of the roles, else 403.
- `owned(load, what=...)`: the resource named in the path belongs to the
  caller, else 404 (`domain.errors.NotFound`), never 403, so ids cannot be
  probed. `ensure_owner` is the same rule for code that loads the resource
  itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from domain.errors import Forbidden, NotFound, Unauthenticated
from serve_app.identity.tokens import Principal, Role

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/auth/login")


async def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("Sign in: send `Authorization: Bearer <access_token>`.")
    services = request.app.state.services
    principal = services.tokens.verify(credentials.credentials)
    # Revocation (password change, erasure) is checked against the user's
    # token generation; see serve_app/identity/revocation.py.
    if services.revocations is not None:
        await services.revocations.ensure_not_revoked(principal)
    return principal


def require_roles(*roles: Role):
    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"This needs the role {' or '.join(roles)}.", code="forbidden")
        return principal

    return dependency


class Owned(NamedTuple):
    """A loaded resource and the id of the user it belongs to."""

    owner_id: Any
    resource: Any


def ensure_owner(owner_id: Any, principal: Principal, *, what: str = "resource", admin_sees_all: bool = False) -> None:
    if admin_sees_all and principal.role == "admin":
        return
    if str(owner_id) != principal.user_id:
        raise NotFound(f"No such {what}.")


def owned(
    load: Callable[[Any, str], Awaitable[Owned | None]], *, what: str, path_param: str, admin_sees_all: bool = False
):
    """Dependency: `await load(services, request.path_params[path_param])`, then the ownership rule.

    Returns the resource. Unknown ids and other users' resources are the same 404."""

    async def dependency(request: Request, principal: Principal = Depends(current_principal)) -> Any:
        found = await load(request.app.state.services, request.path_params[path_param])
        if found is None:
            raise NotFound(f"No such {what}.")
        ensure_owner(found.owner_id, principal, what=what, admin_sees_all=admin_sees_all)
        return found.resource

    return dependency


async def optional_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal | None:
    """The caller if a token was sent (and it must then be valid), else None."""
    if credentials is None:
        return None
    return await current_principal(request, credentials)
