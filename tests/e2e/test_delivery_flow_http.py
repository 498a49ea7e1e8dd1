"""A paid order travels to COMPLETED: shipment, simulated courier, mails, notifications, tracking."""

from __future__ import annotations

import time
import uuid
from collections import Counter

from actors.orders.model import Paid
from actors.runtime.client import ActorClient
from tests.factories import make_product
from tests.helpers import eventually, users_with_tokens

ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US",
           "phone": "+15550100"}


def mails_to(smtp_server, address: str) -> list:
    return [m for m in list(smtp_server.handler.messages) if m["To"] == address]


def subjects_to(smtp_server, address: str) -> Counter:
    return Counter(str(m["Subject"]) for m in mails_to(smtp_server, address))


def email_of(user_id: str) -> str:
    """The address `tests.factories.make_user` gives a user."""
    return f"{uuid.UUID(user_id).hex}@example.test"


def all_pages(http, headers: dict, limit: int) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        page = http.get("/api/users/me/notifications", headers=headers, params=params)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return items


async def test_a_paid_order_is_shipped_delivered_and_completed_with_its_mails(system, http, smtp_server):
    product = await make_product(system.settings.database_url, stock=3, price=1250)
    (user_id, headers), = await users_with_tokens(system, "shopper", 1)
    email = email_of(user_id)
    created = http.post("/api/orders", headers=headers, json={
        "items": [{"product_id": product, "quantity": 2}], "shipping_address": ADDRESS})
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    ref = order_id[:8].upper()
    placed = f"We received your order {ref}"
    await eventually(lambda: subjects_to(smtp_server, email)[placed] == 1)
    unpaid = http.get(f"/api/orders/{order_id}/tracking", headers=headers).json()
    assert unpaid == {"order_id": order_id, "order_status": "AWAITING_PAYMENT", "shipment": None}

    await ActorClient(system.settings).ask("order", order_id, Paid("pay-test-1"))
    started = time.monotonic()
    await eventually(lambda: http.get(f"/api/orders/{order_id}", headers=headers).json()["status"] == "COMPLETED",
                     timeout_s=60)
    assert time.monotonic() - started < 60

    wanted = {placed, f"Order {ref} is being prepared", f"Order {ref} has shipped", f"Order {ref} was delivered"}
    await eventually(lambda: set(subjects_to(smtp_server, email)) >= wanted)
    assert set(subjects_to(smtp_server, email).values()) == {1}  # one mail each
    shipped = next(m for m in mails_to(smtp_server, email) if "has shipped" in str(m["Subject"]))
    assert "SimCourier" in shipped.get_content()

    tracking = http.get(f"/api/orders/{order_id}/tracking", headers=headers).json()
    assert tracking["order_status"] == "COMPLETED"
    shipment = tracking["shipment"]
    assert (shipment["status"], shipment["courier"], shipment["partner"]) == ("DELIVERED", "simulator", "SimCourier")
    assert shipment["tracking_number"].startswith("SIM") and shipment["tracking_number"] in shipped.get_content()
    assert [e["status"] for e in shipment["events"]] == ["CREATED", "PICKED_UP", "DELIVERED"]

    def all_sent():
        items = all_pages(http, headers, limit=2)
        return items if len(items) == 6 and all(i["status"] == "sent" for i in items) else None

    items = await eventually(all_sent)
    assert Counter((i["channel"], i["template"]) for i in items) == Counter({
        ("email", "order_placed"): 1, ("email", "delivery_started"): 1, ("email", "shipped"): 1,
        ("email", "delivered"): 1, ("sms", "shipped"): 1, ("sms", "delivered"): 1})
    assert [i["created_at"] for i in items] == sorted((i["created_at"] for i in items), reverse=True)
    assert len({i["id"] for i in items}) == 6  # pages neither repeat nor skip
    assert {i["recipient"] for i in items if i["channel"] == "sms"} == {"+15550100"}


async def test_tracking_is_for_the_owner_and_admins_only(system, http):
    product = await make_product(system.settings.database_url, stock=1)
    (_, owner), (_, stranger), = await users_with_tokens(system, "shopper", 2)
    (_, admin), = await users_with_tokens(system, "admin", 1)
    order_id = http.post("/api/orders", headers=owner,
                         json={"items": [{"product_id": product, "quantity": 1}]}).json()["id"]
    assert http.get(f"/api/orders/{order_id}/tracking", headers=owner).status_code == 200
    assert http.get(f"/api/orders/{order_id}/tracking", headers=admin).status_code == 200
    for headers in (stranger, {}):
        response = http.get(f"/api/orders/{order_id}/tracking", headers=headers)
        assert response.status_code == (404 if headers else 401)
    assert http.get(f"/api/orders/{uuid.uuid4()}/tracking", headers=owner).status_code == 404
    assert http.get("/api/orders/not-an-id/tracking", headers=owner).status_code == 404
