"""Register, login, refresh rotation, logout, introspection and refused tokens, over HTTP."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from serve_app.identity.tokens import TokenService
from tests.e2e.test_foundation_http import assert_error_body

PASSWORD = "correct horse battery"


def new_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.test"


def register(http, *, email: str | None = None, password: str = PASSWORD, role: str | None = None) -> dict:
    body = {"email": email or new_email(), "password": password, "name": "Ada Lovelace"}
    if role:
        body["role"] = role
    response = http.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(session_or_token) -> dict:
    token = session_or_token if isinstance(session_or_token, str) else session_or_token["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_register_shape_and_login(http):
    email = new_email()
    session = register(http, email=f"  {email.upper()} ", role="seller")
    assert set(session) == {"user", "access_token", "refresh_token", "token_type", "expires_in"}
    assert session["token_type"] == "bearer"
    assert session["expires_in"] > 0
    user = session["user"]
    assert user["email"] == email and user["role"] == "seller" and user["name"] == "Ada Lovelace"
    assert user["notification_preferences"] == {"email": True, "sms": True}
    assert "password" not in str(user) and "hash" not in str(user)

    login = http.post("/api/auth/login", json={"email": email.upper(), "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["id"] == user["id"]
    assert login.json()["refresh_token"] != session["refresh_token"]


def test_email_taken_regardless_of_case(http):
    email = new_email()
    register(http, email=email)
    again = http.post("/api/auth/register", json={"email": email.upper(), "password": PASSWORD, "name": "X"})
    assert_error_body(again, 409, "email_taken")


def test_registering_as_admin_is_refused(http):
    email = new_email("admin")
    body = {"email": email, "password": PASSWORD, "name": "X", "role": "admin"}
    response = http.post("/api/auth/register", json=body)
    error = assert_error_body(response, 403, "role_not_allowed")
    assert error["details"]["allowed"] == ["shopper", "seller"]
    # Nothing was created: the email is still free.
    assert register(http, email=email)["user"]["role"] == "shopper"


def test_unknown_email_and_wrong_password_look_the_same(http):
    email = register(http)["user"]["email"]
    wrong = http.post("/api/auth/login", json={"email": email, "password": "not the password"})
    unknown = http.post("/api/auth/login", json={"email": new_email("ghost"), "password": "not the password"})
    assert_error_body(wrong, 401, "invalid_credentials")
    assert_error_body(unknown, 401, "invalid_credentials")
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


def test_validation_error_body_does_not_echo_input(http):
    response = http.post("/api/auth/register", json={"email": "not-an-email", "password": "Sh0rt!x", "name": ""})
    error = assert_error_body(response, 422, "validation_error")
    fields = {tuple(e["loc"]) for e in error["details"]["errors"]}
    assert {("body", "email"), ("body", "password"), ("body", "name")} <= fields
    assert "Sh0rt!x" not in response.text and "not-an-email" not in response.text


def test_malformed_json_is_400(http):
    response = http.post("/api/auth/register", content=b'{"email": "a@b.co", "password": ',
                         headers={"Content-Type": "application/json"})
    assert_error_body(response, 400, "malformed_json")


def test_refresh_rotates_and_reuse_revokes_the_family(http):
    session = register(http)
    first = session["refresh_token"]
    rotated = http.post("/api/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refresh_token"]
    assert second != first
    assert http.get("/api/auth/verify", headers=bearer(rotated.json())).status_code == 200

    reused = http.post("/api/auth/refresh", json={"refresh_token": first})
    assert_error_body(reused, 401, "refresh_token_reused")
    # Theft detection: the newest token of that family is dead too.
    assert_error_body(http.post("/api/auth/refresh", json={"refresh_token": second}), 401, "refresh_token_revoked")
    assert_error_body(http.post("/api/auth/refresh", json={"refresh_token": "made-up"}), 401, "invalid_refresh_token")


def test_logout_revokes_only_that_family(http):
    email = new_email()
    first = register(http, email=email)
    second = http.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()
    out = http.post("/api/auth/logout", json={"refresh_token": second["refresh_token"]}, headers=bearer(second))
    assert out.status_code == 204 and out.content == b""
    assert_error_body(http.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]}),
                      401, "refresh_token_revoked")
    assert http.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 200
    assert_error_body(http.post("/api/auth/logout", json={"refresh_token": "x"}), 401, "not_authenticated")


def test_logout_cannot_revoke_another_users_session(http):
    alice, bob = register(http), register(http)
    out = http.post("/api/auth/logout", json={"refresh_token": bob["refresh_token"]}, headers=bearer(alice))
    assert out.status_code == 204
    assert http.post("/api/auth/refresh", json={"refresh_token": bob["refresh_token"]}).status_code == 200


def test_verify_introspects_the_token(http):
    session = register(http)
    response = http.get("/api/auth/verify", headers=bearer(session))
    assert response.status_code == 200
    assert response.json() == {"user": session["user"]}
    assert_error_body(http.get("/api/auth/verify"), 401, "not_authenticated")


def _claims(system, user: dict, **overrides) -> dict:
    now = int(time.time())
    return {"sub": user["id"], "role": user["role"], "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex,
            "iss": system.settings.jwt_issuer, "aud": system.settings.jwt_audience, **overrides}


def test_refused_tokens(system, http):
    user = register(http)["user"]
    secret = system.settings.jwt_secret.get_secret_value()
    good = jwt.encode(_claims(system, user), secret, algorithm="HS256")
    assert http.get("/api/auth/verify", headers=bearer(good)).status_code == 200

    head, payload, signature = good.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    cases = {
        "tampered signature": (f"{head}.{payload}.{flipped}", "invalid_token"),
        "alg none": (jwt.encode(_claims(system, user), None, algorithm="none"), "invalid_token"),
        "expired": (TokenService(system.settings).issue(user["id"], user["role"], now=time.time() - 3600),
                    "token_expired"),
        "wrong audience": (jwt.encode(_claims(system, user, aud="someone-else"), secret, algorithm="HS256"),
                           "invalid_token"),
        "wrong issuer": (jwt.encode(_claims(system, user, iss="evil"), secret, algorithm="HS256"), "invalid_token"),
        "other secret": (jwt.encode(_claims(system, user), "x" * 48, algorithm="HS256"), "invalid_token"),
        "role escalation": (f"{head}.{jwt.utils.base64url_encode(b'{}').decode()}.{signature}", "invalid_token"),
    }
    for name, (token, code) in cases.items():
        error = assert_error_body(http.get("/api/auth/verify", headers=bearer(token)), 401, code)
        assert token not in error["message"], name
    for name, word in (("wrong audience", "audience"), ("wrong issuer", "issuer")):
        response = http.get("/api/auth/verify", headers=bearer(cases[name][0]))
        assert word in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/users/me", "/api/users/me/addresses", "/api/auth/verify"])
def test_user_routes_need_a_token(http, path):
    assert_error_body(http.get(path), 401, "not_authenticated")
