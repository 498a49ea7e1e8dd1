"""The courier webhook: signed reports only, replays ignored, moves along the shipment table."""

from __future__ import annotations

import json
import time
import uuid

import psycopg
import pytest

from actors.delivery import service
from actors.delivery.webhook import SIGNATURE_HEADER, sign
from tests.factories import make_product
from tests.helpers import users_with_tokens

PATH = "/api/delivery/webhooks/courier"


@pytest.fixture
async def partner_shipment(system, http) -> tuple[str, str, dict]:
    """An order with a shipment a partner drives (the simulator never touches it): (shipment, order, headers)."""
    product = await make_product(system.settings.database_url, stock=1)
    (_, headers), = await users_with_tokens(system, "shopper", 1)
    order_id = http.post("/api/orders", headers=headers,
                         json={"items": [{"product_id": product, "quantity": 1}]}).json()["id"]
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        shipment = await service.open_shipment(conn, order_id, courier="partner", first_step_in_s=None)
        await conn.commit()
    return str(shipment["id"]), order_id, headers


def post(http, system, report: dict, *, secret: str | None = None, at: float | None = None):
    body = json.dumps(report).encode()
    secret = secret or system.settings.courier_webhook_secret.get_secret_value()
    signature = sign(body, secret, int(at or time.time()))
    return http.post(PATH, content=body, headers={SIGNATURE_HEADER: signature, "Content-Type": "application/json"})


def tracked(http, order_id: str, headers: dict) -> dict:
    return http.get(f"/api/orders/{order_id}/tracking", headers=headers).json()["shipment"]


async def outbox_types(system, shipment_id: str) -> list[str]:
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        rows = await (await conn.execute(
            "SELECT type FROM outbox WHERE aggregate_id = %s ORDER BY sequence", (shipment_id,))).fetchall()
    return [r[0] for r in rows]


async def test_unsigned_or_badly_signed_reports_are_refused_and_change_nothing(system, http, partner_shipment):
    shipment_id, order_id, headers = partner_shipment
    report = {"shipment_id": shipment_id, "status": "picked_up", "event_id": f"evt-{uuid.uuid4()}"}
    unsigned = http.post(PATH, json=report)
    wrong_secret = post(http, system, report, secret="not-the-courier-secret")
    stale = post(http, system, report, at=time.time() - 3600)
    tampered_body = json.dumps({**report, "status": "delivered"}).encode()
    tampered = http.post(PATH, content=tampered_body, headers={
        SIGNATURE_HEADER: sign(json.dumps(report).encode(), "test-courier-webhook-secret", int(time.time()))})
    for response in (unsigned, wrong_secret, stale, tampered):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "invalid_signature"
    assert tracked(http, order_id, headers)["status"] == "CREATED"
    assert await outbox_types(system, shipment_id) == ["DELIVERY_STARTED"]


async def test_a_replayed_event_id_is_ignored(system, http, partner_shipment):
    shipment_id, order_id, headers = partner_shipment
    pickup = {"shipment_id": shipment_id, "status": "picked_up", "event_id": f"evt-{uuid.uuid4()}",
              "tracking_number": f"TRK-{uuid.uuid4().hex[:10]}", "partner": "FastShip"}
    first = post(http, system, pickup)
    assert first.status_code == 200, first.text
    assert first.json()["result"] == "applied"
    assert first.json()["shipment"]["status"] == "PICKED_UP"
    again = post(http, system, pickup)
    assert again.status_code == 200 and again.json()["result"] == "duplicate"

    delivered = {"tracking_number": pickup["tracking_number"], "status": "delivered", "event_id": f"evt-{uuid.uuid4()}"}
    assert post(http, system, delivered).json()["result"] == "applied"
    assert post(http, system, delivered).json()["result"] == "duplicate"
    # A second scan with a new id for a step already taken changes nothing either.
    rescan = {**delivered, "event_id": f"evt-{uuid.uuid4()}"}
    assert post(http, system, rescan).json()["result"] == "no_change"

    shipment = tracked(http, order_id, headers)
    assert (shipment["status"], shipment["partner"], shipment["tracking_number"]) == (
        "DELIVERED", "FastShip", pickup["tracking_number"])
    assert [e["status"] for e in shipment["events"]] == ["CREATED", "PICKED_UP", "DELIVERED"]
    assert await outbox_types(system, shipment_id) == [
        "DELIVERY_STARTED", "DELIVERY_COURIERED_PARTNER", "DELIVERY_COMPLETED"]


async def test_unknown_shipments_bad_bodies_and_illegal_steps(system, http, partner_shipment):
    shipment_id, order_id, headers = partner_shipment
    unknown = post(http, system, {"shipment_id": str(uuid.uuid4()), "status": "picked_up", "event_id": "e-x"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "shipment_not_found"
    bad = post(http, system, {"shipment_id": shipment_id, "status": "lost", "event_id": "e-y"})
    assert bad.status_code == 422
    too_early = post(http, system, {"shipment_id": shipment_id, "status": "delivered", "event_id": f"e-{uuid.uuid4()}"})
    assert too_early.status_code == 409 and too_early.json()["error"]["code"] == "illegal_transition"
    assert tracked(http, order_id, headers)["status"] == "CREATED"
