"""Notifications over HTTP: the welcome mail, opt-outs, the listing's rules."""

from __future__ import annotations

from tests.e2e.test_delivery_flow_http import email_of, mails_to, subjects_to
from tests.e2e.test_identity_auth_http import bearer, register
from tests.factories import make_product
from tests.helpers import eventually, users_with_tokens


def listed(http, headers: dict) -> list[dict]:
    response = http.get("/api/users/me/notifications", headers=headers, params={"limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_registering_sends_a_welcome_mail_listed_as_sent(http, smtp_server):
    session = register(http)
    email = session["user"]["email"]
    await eventually(lambda: subjects_to(smtp_server, email)["Welcome to Commerce, Ada Lovelace"] == 1)
    (item,) = await eventually(lambda: [i for i in listed(http, bearer(session)) if i["status"] == "sent"])
    assert (item["event_type"], item["channel"], item["template"], item["recipient"]) == (
        "USER_REGISTERED", "email", "welcome", email)
    assert item["sent_at"] and item["body"].startswith("Hello Ada Lovelace,")


async def test_an_email_opt_out_stores_the_message_as_skipped_and_mails_nothing(system, http, smtp_server):
    (out_id, opted_out), (control_id, control) = await users_with_tokens(system, "shopper", 2)
    patched = http.patch("/api/users/me", headers=opted_out, json={"notification_preferences": {"email": False}})
    assert patched.status_code == 200, patched.text
    product = await make_product(system.settings.database_url, stock=2)
    body = {"items": [{"product_id": product, "quantity": 1}]}
    assert http.post("/api/orders", headers=opted_out, json=body).status_code == 201
    assert http.post("/api/orders", headers=control, json=body).status_code == 201  # placed after

    (item,) = await eventually(lambda: listed(http, opted_out))
    assert (item["template"], item["status"], item["skip_reason"], item["sent_at"]) == (
        "order_placed", "skipped", "opted_out", None)
    # The control's event came after the opted-out one: once its mail is here, the other would be too.
    await eventually(lambda: mails_to(smtp_server, email_of(control_id)))
    assert mails_to(smtp_server, email_of(out_id)) == []
    assert listed(http, opted_out)[0]["status"] == "skipped"


def test_the_listing_needs_a_token_and_a_cursor_we_made(http):
    assert http.get("/api/users/me/notifications").status_code == 401
    session = register(http)
    response = http.get("/api/users/me/notifications", headers=bearer(session), params={"cursor": "bogus"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"
    assert http.get("/api/users/me/notifications", headers=bearer(session), params={"limit": 0}).status_code == 422
