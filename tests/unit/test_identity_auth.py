"""The authorization dependencies, on a tiny FastAPI app with a real TokenService."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from fastapi import Depends, FastAPI

from domain.errors import NotFound, Unauthenticated
from serve_app.auth import Owned, current_principal, ensure_owner, owned, require_roles
from serve_app.errors import install_error_handlers
from serve_app.identity.tokens import Principal, TokenService


@dataclass
class FakeServices:
    """What the dependencies read from `app.state.services`; revocation is exercised by e2e tests."""

    tokens: TokenService
    revocations: object | None = None
    documents: dict | None = None


class RevokeEverything:
    async def ensure_not_revoked(self, principal: Principal) -> None:
        raise Unauthenticated("revoked", code="token_revoked")


async def load_document(services: FakeServices, document_id: str) -> Owned | None:
    owner = services.documents.get(document_id)
    return Owned(owner_id=owner, resource={"id": document_id}) if owner else None


@pytest.fixture
def app(tokens) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.services = FakeServices(tokens=tokens, documents={"d1": "alice", "d2": "bob"})

    @app.post("/products")
    async def create_product(principal: Principal = Depends(require_roles("seller", "admin"))):
        return {"by": principal.user_id}

    @app.get("/me")
    async def me(principal: Principal = Depends(current_principal)):
        return {"id": principal.user_id}

    @app.get("/documents/{document_id}")
    async def document(doc=Depends(owned(load_document, what="document", path_param="document_id"))):
        return doc

    return app


async def call(app, method, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.request(method, path, headers=headers)


@pytest.mark.parametrize(("role", "status"), [("shopper", 403), ("seller", 200), ("admin", 200)])
async def test_require_roles(app, tokens, role, status):
    response = await call(app, "POST", "/products", tokens.issue("u1", role))
    assert response.status_code == status
    if status == 403:
        assert response.json()["error"]["code"] == "forbidden"


async def test_no_token_is_401_not_403(app):
    response = await call(app, "POST", "/products")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert (await call(app, "GET", "/me", "not.a.jwt")).json()["error"]["code"] == "invalid_token"


async def test_revocation_hook_is_consulted(app, tokens):
    app.state.services.revocations = RevokeEverything()
    response = await call(app, "GET", "/me", tokens.issue("u1", "shopper"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_revoked"


async def test_another_users_resource_is_404_like_a_missing_one(app, tokens):
    alice = tokens.issue("alice", "shopper")
    assert (await call(app, "GET", "/documents/d1", alice)).json() == {"id": "d1"}
    other, missing = await call(app, "GET", "/documents/d2", alice), await call(app, "GET", "/documents/nope", alice)
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    assert other.json()["error"]["message"] == missing.json()["error"]["message"]


def test_ensure_owner_admin_option():
    admin = Principal(user_id="root", role="admin", token_id="t", issued_at=0, expires_at=1)
    with pytest.raises(NotFound):
        ensure_owner("alice", admin, what="order")
    ensure_owner("alice", admin, what="order", admin_sees_all=True)
