"""Profile, password change, addresses and erasure, over HTTP."""

from __future__ import annotations

import asyncio

import psycopg

from tests.e2e.test_foundation_http import assert_error_body
from tests.e2e.test_identity_auth_http import PASSWORD, bearer, new_email, register

ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "gb"}


def query(system, sql: str, *params):
    async def run():
        async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
            return await (await conn.execute(sql, params)).fetchall()

    return asyncio.run(run())


def test_profile_read_and_update(system, http):
    session = register(http)
    me = http.get("/api/users/me", headers=bearer(session))
    assert me.status_code == 200 and me.json() == session["user"]

    patch = http.patch("/api/users/me", headers=bearer(session),
                       json={"name": "  Countess of Lovelace ", "notification_preferences": {"sms": False}})
    assert patch.status_code == 200, patch.text
    assert patch.json()["name"] == "Countess of Lovelace"
    assert patch.json()["notification_preferences"] == {"email": True, "sms": False}
    assert http.get("/api/users/me", headers=bearer(session)).json() == patch.json()

    events = query(system, "SELECT type, data FROM outbox WHERE aggregate_id = %s ORDER BY sequence",
                   session["user"]["id"])
    assert [e[0] for e in events] == ["USER_REGISTERED", "USER_UPDATED"]
    assert events[1][1] == {"user_id": session["user"]["id"], "changed": ["name", "notification_preferences"]}


def test_role_cannot_be_patched(http):
    session = register(http)
    assert_error_body(http.patch("/api/users/me", headers=bearer(session), json={"role": "admin"}),
                      422, "validation_error")
    assert http.get("/api/users/me", headers=bearer(session)).json()["role"] == "shopper"


def test_email_change_needs_the_current_password_and_a_free_email(http):
    session, other = register(http), register(http)
    new = new_email("moved")
    assert_error_body(http.patch("/api/users/me", headers=bearer(session), json={"email": new}),
                      422, "current_password_required")
    assert_error_body(http.patch("/api/users/me", headers=bearer(session),
                                 json={"email": new, "current_password": "not the password"}),
                      403, "invalid_current_password")
    assert_error_body(http.patch("/api/users/me", headers=bearer(session),
                                 json={"email": other["user"]["email"].upper(), "current_password": PASSWORD}),
                      409, "email_taken")
    moved = http.patch("/api/users/me", headers=bearer(session), json={"email": new, "current_password": PASSWORD})
    assert moved.status_code == 200 and moved.json()["email"] == new
    assert http.post("/api/auth/login", json={"email": new, "password": PASSWORD}).status_code == 200


def test_password_change_revokes_every_earlier_token(http):
    session = register(http)
    email = session["user"]["email"]
    second = http.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()
    changed = http.patch("/api/users/me", headers=bearer(session),
                         json={"current_password": PASSWORD, "new_password": "a brand new secret"})
    assert changed.status_code == 200, changed.text

    for old in (session, second):
        assert_error_body(http.get("/api/users/me", headers=bearer(old)), 401, "token_revoked")
        assert_error_body(http.post("/api/auth/refresh", json={"refresh_token": old["refresh_token"]}),
                          401, "refresh_token_revoked")
    assert_error_body(http.post("/api/auth/login", json={"email": email, "password": PASSWORD}),
                      401, "invalid_credentials")
    fresh = http.post("/api/auth/login", json={"email": email, "password": "a brand new secret"})
    assert fresh.status_code == 200
    # Issued right after the change (possibly in the same second): it works.
    assert http.get("/api/users/me", headers=bearer(fresh.json())).status_code == 200


def test_addresses_crud_and_pagination(http):
    session = register(http)
    created = http.post("/api/users/me/addresses", headers=bearer(session), json=ADDRESS)
    assert created.status_code == 201, created.text
    address = created.json()
    assert address["country"] == "GB" and address["line2"] is None and address["id"]
    for n in range(2):
        assert http.post("/api/users/me/addresses", headers=bearer(session),
                         json={**ADDRESS, "line1": f"{n} Other Street", "phone": "+44 20 7946 0000"}).status_code == 201

    first = http.get("/api/users/me/addresses", params={"limit": 2}, headers=bearer(session)).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = http.get("/api/users/me/addresses", params={"limit": 2, "cursor": first["next_cursor"]},
                    headers=bearer(session)).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    ids = [a["id"] for a in first["items"] + rest["items"]]
    assert ids[0] == address["id"] and len(set(ids)) == 3
    assert_error_body(http.get("/api/users/me/addresses", params={"cursor": "garbage!"}, headers=bearer(session)),
                      400, "invalid_cursor")
    for long_cursor in ("A" * 300, "A" * 600):  # every listing answers a long cursor with the same 400
        assert_error_body(http.get("/api/users/me/addresses", params={"cursor": long_cursor}, headers=bearer(session)),
                          400, "invalid_cursor")

    path = f"/api/users/me/addresses/{address['id']}"
    patched = http.patch(path, headers=bearer(session), json={"line2": "Flat 3", "country": "IE"})
    assert patched.status_code == 200 and patched.json()["line2"] == "Flat 3" and patched.json()["country"] == "IE"
    cleared = http.patch(path, headers=bearer(session), json={"line2": None})
    assert cleared.json()["line2"] is None
    assert_error_body(http.patch(path, headers=bearer(session), json={"city": None}), 422, "validation_error")
    assert_error_body(http.patch(path, headers=bearer(session), json={"country": "UK"}), 422, "validation_error")
    assert http.get(path, headers=bearer(session)).json()["line2"] is None

    assert http.delete(path, headers=bearer(session)).status_code == 204
    assert_error_body(http.get(path, headers=bearer(session)), 404, "not_found")
    assert_error_body(http.delete(path, headers=bearer(session)), 404, "not_found")


def test_another_users_address_is_404(http):
    alice, mallory = register(http), register(http)
    address = http.post("/api/users/me/addresses", headers=bearer(alice), json=ADDRESS).json()
    path = f"/api/users/me/addresses/{address['id']}"
    missing = assert_error_body(http.get("/api/users/me/addresses/00000000-0000-0000-0000-000000000000",
                                         headers=bearer(mallory)), 404, "not_found")
    assert assert_error_body(http.get(path, headers=bearer(mallory)), 404, "not_found")["message"] == missing["message"]
    assert_error_body(http.patch(path, headers=bearer(mallory), json={"city": "Paris"}), 404, "not_found")
    assert_error_body(http.delete(path, headers=bearer(mallory)), 404, "not_found")
    assert_error_body(http.get("/api/users/me/addresses/not-a-uuid", headers=bearer(mallory)), 404, "not_found")
    assert http.get("/api/users/me/addresses", headers=bearer(mallory)).json() == {"items": [], "next_cursor": None}
    assert http.get(path, headers=bearer(alice)).json()["city"] == "London"


def test_erasure(system, http):
    session = register(http)
    user_id, email = session["user"]["id"], session["user"]["email"]
    http.post("/api/users/me/addresses", headers=bearer(session), json=ADDRESS)
    assert http.delete("/api/users/me", headers=bearer(session)).status_code == 204

    assert_error_body(http.get("/api/users/me", headers=bearer(session)), 401, "token_revoked")
    assert_error_body(http.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]}),
                      401, "refresh_token_revoked")
    assert_error_body(http.post("/api/auth/login", json={"email": email, "password": PASSWORD}),
                      401, "invalid_credentials")

    [(stored_email, name, password_hash, deleted_at)] = query(
        system, "SELECT email, name, password_hash, deleted_at FROM users WHERE id = %s", user_id)
    assert (stored_email, name, password_hash) == (f"deleted-{user_id}@invalid", "", "")
    assert deleted_at is not None
    assert query(system, "SELECT count(*) FROM addresses WHERE user_id = %s", user_id) == [(0,)]
    events = query(system, "SELECT type, data FROM outbox WHERE aggregate_id = %s ORDER BY sequence", user_id)
    assert [e[0] for e in events] == ["USER_REGISTERED", "USER_DELETED"]
    assert email not in str(events)
    # The email is free again.
    assert register(http, email=email)["user"]["id"] != user_id
