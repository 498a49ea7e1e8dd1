"""Routes: identity (API.md "Identity"). Thin: parse, call a use case, shape the reply."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from serve_app.auth import current_principal, owned
from serve_app.identity.schemas import (
    AddressCreate, AddressPage, AddressPublic, AddressUpdate, AuthResponse, LoginRequest, RefreshRequest,
    RegisterRequest, UserPublic, UserUpdate, VerifyResponse,
)
from serve_app.identity.service import Session
from serve_app.identity.tokens import Principal
from serve_app.identity.wiring import Identity
from serve_app.pagination import PageCursor, PageLimit

router = APIRouter(tags=["identity"])


async def identity(request: Request) -> Identity:
    return request.app.state.services.identity


def client_address(request: Request) -> str | None:
    """The client's address for the per-client sign-in limit, or None when unknown.

    Behind the HAProxy ingress the peer is the proxy for every client (Ray's
    HAProxy passes no client address on, and an X-Forwarded-For that reaches the
    replica was written by the client): counting it would make one budget for
    all clients, which 20 failed sign-ins anywhere would lock for everyone."""
    if request.app.state.services.settings.ingress_mode == "haproxy":
        return None
    return request.client.host if request.client else None


def _auth_response(session: Session) -> AuthResponse:
    return AuthResponse(
        user=UserPublic.of(session.user), access_token=session.access_token,
        refresh_token=session.refresh_token, expires_in=session.expires_in,
    )


async def _load_address(services, address_id: str):
    return await services.identity.addresses.load(address_id)


own_address = owned(_load_address, what="address", path_param="address_id")


@router.post("/api/auth/register", status_code=201, response_model=AuthResponse, summary="Create an account",
             responses={403: {"description": "`role_not_allowed`: admin cannot be self-assigned"},
                        409: {"description": "`email_taken`"}})
async def register(body: RegisterRequest, ids: Identity = Depends(identity)) -> AuthResponse:
    return _auth_response(await ids.auth.register(body))


@router.post("/api/auth/login", response_model=AuthResponse, summary="Sign in",
             responses={401: {"description": "`invalid_credentials`"},
                        429: {"description": "`too_many_attempts`, with Retry-After"}})
async def login(body: LoginRequest, request: Request, ids: Identity = Depends(identity)) -> AuthResponse:
    return _auth_response(await ids.auth.login(body.email, body.password, client_address(request)))


@router.post("/api/auth/refresh", response_model=AuthResponse, summary="Rotate a refresh token",
             responses={401: {"description": "`invalid_refresh_token`, `refresh_token_reused`, ..."}})
async def refresh(body: RefreshRequest, ids: Identity = Depends(identity)) -> AuthResponse:
    return _auth_response(await ids.auth.refresh(body.refresh_token))


@router.post("/api/auth/logout", status_code=204, summary="Revoke the refresh token's sign-in")
async def logout(
    body: RefreshRequest, principal: Principal = Depends(current_principal), ids: Identity = Depends(identity)
) -> Response:
    await ids.auth.logout(body.refresh_token, principal)
    return Response(status_code=204)


@router.get("/api/auth/verify", response_model=VerifyResponse, summary="Introspect the access token")
async def verify(principal: Principal = Depends(current_principal), ids: Identity = Depends(identity)):
    return VerifyResponse(user=UserPublic.of(await ids.auth.current_user(principal)))


@router.get("/api/users/me", response_model=UserPublic, summary="My profile")
async def get_me(principal: Principal = Depends(current_principal), ids: Identity = Depends(identity)):
    return UserPublic.of(await ids.auth.current_user(principal))


@router.patch("/api/users/me", response_model=UserPublic, summary="Change my profile, email or password",
              description="`email` and `new_password` need `current_password`. A password change "
                          "revokes every token, this request's too: sign in again.")
async def update_me(
    body: UserUpdate, request: Request, principal: Principal = Depends(current_principal),
    ids: Identity = Depends(identity),
):
    return UserPublic.of(await ids.profiles.update(principal, body, client_address(request)))


@router.delete("/api/users/me", status_code=204, summary="Erase my personal data and sign out everywhere")
async def delete_me(principal: Principal = Depends(current_principal), ids: Identity = Depends(identity)) -> Response:
    await ids.profiles.erase(principal)
    return Response(status_code=204)


@router.get("/api/users/me/addresses", response_model=AddressPage, summary="My addresses")
async def list_addresses(
    limit: PageLimit = 20, cursor: PageCursor = None,
    principal: Principal = Depends(current_principal), ids: Identity = Depends(identity),
):
    return await ids.addresses.page(principal, limit, cursor)


@router.post("/api/users/me/addresses", status_code=201, response_model=AddressPublic, summary="Add an address")
async def add_address(
    body: AddressCreate, principal: Principal = Depends(current_principal), ids: Identity = Depends(identity)
):
    return await ids.addresses.add(principal, body)


@router.get("/api/users/me/addresses/{address_id}", response_model=AddressPublic, summary="One of my addresses")
async def get_address(address_id: str, address: AddressPublic = Depends(own_address)):
    return address


@router.patch("/api/users/me/addresses/{address_id}", response_model=AddressPublic, summary="Change an address")
async def update_address(
    address_id: str, body: AddressUpdate, _: AddressPublic = Depends(own_address),
    principal: Principal = Depends(current_principal), ids: Identity = Depends(identity),
):
    return await ids.addresses.update(principal, address_id, body)


@router.delete("/api/users/me/addresses/{address_id}", status_code=204, summary="Delete an address")
async def delete_address(
    address_id: str, _: AddressPublic = Depends(own_address),
    principal: Principal = Depends(current_principal), ids: Identity = Depends(identity),
) -> Response:
    await ids.addresses.delete(principal, address_id)
    return Response(status_code=204)
