"""Payments over HTTP against the running system (simulated gateway, real workers)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import psycopg

from tests.e2e.test_orders_http import admin, shopper, stock_of  # noqa: F401  (fixtures)
from tests.factories import make_product
from tests.helpers import eventually, users_with_tokens

PAID_OR_LATER = {"PAID", "FULFILLING", "SHIPPED", "DELIVERED", "COMPLETED"}


async def new_order(system, http, headers, *, stock: int = 3, price: int = 1000) -> tuple[str, dict]:
    product = await make_product(system.settings.database_url, stock=stock, price=price)
    response = http.post("/api/orders", headers=headers, json={"items": [{"product_id": product, "quantity": 1}]})
    assert response.status_code == 201, response.text
    return product, response.json()


def pay(http, headers, order_id: str, method: str = "pm_card_visa", *, wait: float = 0, key: str | None = None):
    headers = {**headers, **({"Idempotency-Key": key} if key else {})}
    return http.post("/api/payments", params={"wait": wait} if wait else None, headers=headers,
                     json={"order_id": order_id, "payment_method": method})


def order_status(http, headers, order_id: str) -> str:
    return http.get(f"/api/orders/{order_id}", headers=headers).json()["status"]


def payment_of(http, headers, payment_id: str) -> dict:
    return http.get(f"/api/payments/{payment_id}", headers=headers).json()


def events(http, admin_headers, type_: str, aggregate_id: str) -> list[dict]:
    return http.get("/api/admin/events", headers=admin_headers,
                    params={"type": type_, "aggregate_id": aggregate_id, "limit": 100}).json()["items"]


async def rows(system, sql: str, *params) -> list[tuple]:
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        return await (await conn.execute(sql, params)).fetchall()


async def test_a_visa_payment_pays_the_order_and_sells_the_stock(system, http, admin, shopper):
    product, order = await new_order(system, http, shopper[1])
    response = pay(http, shopper[1], order["id"], wait=8)
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "succeeded"
    assert payment["order_id"] == order["id"] and payment["provider"] == "simulated"
    assert payment["amount"] == order["totals"]["total"]
    await eventually(lambda: order_status(http, shopper[1], order["id"]) in PAID_OR_LATER, timeout_s=20)
    await eventually(lambda: stock_of(http, product, admin) == {"available": 2, "reserved": 0, "sold": 1,
                                                                  "received": 3}, timeout_s=20)
    (paid,) = events(http, admin, "ORDER_PAID", order["id"])
    assert paid["data"]["payment_id"] == payment["id"]
    (success,) = events(http, admin, "PAYMENT_SUCCESS", payment["id"])
    assert success["data"]["amount"] == order["totals"]["total"]


async def test_a_declined_card_fails_the_order_and_releases_the_stock(system, http, admin, shopper):
    product, order = await new_order(system, http, shopper[1])
    payment = pay(http, shopper[1], order["id"], "pm_card_chargeDeclined", wait=8).json()
    assert (payment["status"], payment["failure_reason"]) == ("failed", "card_declined")
    await eventually(lambda: order_status(http, shopper[1], order["id"]) == "PAYMENT_FAILED", timeout_s=20)
    await eventually(lambda: stock_of(http, product, admin) == {"available": 3, "reserved": 0, "sold": 0,
                                                                  "received": 3}, timeout_s=20)
    (failure,) = events(http, admin, "PAYMENT_FAILURE", payment["id"])
    assert failure["data"]["reason"] == "card_declined"
    again = pay(http, shopper[1], order["id"])
    assert again.status_code == 409 and again.json()["error"]["code"] in ("payment_failed", "illegal_transition")


async def test_a_transient_failure_is_retried_until_the_charge_succeeds(system, http, admin, shopper):
    product, order = await new_order(system, http, shopper[1])
    payment = pay(http, shopper[1], order["id"], "pm_card_transient").json()
    assert payment["status"] == "processing"
    await eventually(lambda: payment_of(http, shopper[1], payment["id"])["status"] == "succeeded", timeout_s=30)
    await eventually(lambda: order_status(http, shopper[1], order["id"]) in PAID_OR_LATER, timeout_s=20)
    # One intent, confirmed three times (two transient failures, then success); three worker attempts.
    assert await rows(system, "SELECT status, confirm_calls FROM simulated_payment_intents WHERE payment_id = %s",
                      payment["id"]) == [("succeeded", 3)]
    assert await rows(system, "SELECT charge_attempts FROM payments WHERE id = %s", payment["id"]) == [(3,)]
    assert events(http, admin, "PAYMENT_FAILURE", payment["id"]) == []


async def test_an_order_is_paid_once(system, http, shopper):
    _, order = await new_order(system, http, shopper[1])
    pending = pay(http, shopper[1], order["id"], "pm_card_pending").json()
    in_progress = pay(http, shopper[1], order["id"])
    assert in_progress.status_code == 409 and in_progress.json()["error"]["code"] == "payment_in_progress"

    _, paid_order = await new_order(system, http, shopper[1])
    assert pay(http, shopper[1], paid_order["id"], wait=8).json()["status"] == "succeeded"
    await eventually(lambda: order_status(http, shopper[1], paid_order["id"]) in PAID_OR_LATER, timeout_s=20)
    second = pay(http, shopper[1], paid_order["id"])
    assert second.status_code == 409 and second.json()["error"]["code"] == "already_paid"
    assert payment_of(http, shopper[1], pending["id"])["status"] == "processing"


async def test_concurrent_payments_make_one_payment_and_one_charge(system, http, admin, shopper):
    product, order = await new_order(system, http, shopper[1])
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as client:
        responses = await asyncio.gather(*(
            client.post("/api/payments", headers=shopper[1], json={"order_id": order["id"],
                                                                   "payment_method": "pm_card_visa"})
            for _ in range(8)))
    created = [r for r in responses if r.status_code == 201]
    assert len(created) == 1, [r.text for r in responses]
    assert {r.json()["error"]["code"] for r in responses if r.status_code != 201} <= {"payment_in_progress",
                                                                                       "already_paid"}
    payment_id = created[0].json()["id"]
    await eventually(lambda: payment_of(http, shopper[1], payment_id)["status"] == "succeeded", timeout_s=20)
    assert await rows(system, "SELECT id::text FROM payments WHERE order_id = %s", order["id"]) == [(payment_id,)]
    assert len(await rows(system, "SELECT 1 FROM simulated_payment_intents WHERE payment_id = %s", payment_id)) == 1
    assert len(events(http, admin, "PAYMENT_ADDED", payment_id)) == 1
    await eventually(lambda: stock_of(http, product, admin)["sold"] == 1, timeout_s=20)


async def test_the_same_idempotency_key_returns_the_first_payment(system, http, shopper):
    _, order = await new_order(system, http, shopper[1])
    key = uuid.uuid4().hex
    first = pay(http, shopper[1], order["id"], "pm_card_pending", key=key)
    again = pay(http, shopper[1], order["id"], "pm_card_pending", key=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = pay(http, shopper[1], order["id"], "pm_card_visa", key=key)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(await rows(system, "SELECT 1 FROM payments WHERE order_id = %s", order["id"])) == 1


async def test_admin_refunds_part_then_the_rest(system, http, admin, shopper):
    _, order = await new_order(system, http, shopper[1])
    payment = pay(http, shopper[1], order["id"], wait=8).json()
    total = payment["amount"]["amount"]
    url = f"/api/payments/{payment['id']}/refund"
    assert http.post(url, headers=shopper[1], json={"amount": 100}).status_code == 403
    key = {"Idempotency-Key": uuid.uuid4().hex}
    part = http.post(url, headers={**admin, **key}, json={"amount": 300})
    assert part.status_code == 201, part.text
    assert part.json()["status"] == "partially_refunded" and part.json()["refunded"]["amount"] == 300
    assert http.post(url, headers={**admin, **key}, json={"amount": 300}).json()["refunded"]["amount"] == 300
    too_much = http.post(url, headers=admin, json={"amount": total})
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "refund_too_large"
    assert too_much.json()["error"]["details"]["refundable"] == {"amount": total - 300, "currency": "USD"}
    wrong_currency = http.post(url, headers=admin, json={"amount": {"amount": 1, "currency": "EUR"}})
    assert wrong_currency.status_code == 422
    rest = http.post(url, headers=admin)
    assert rest.status_code == 201 and rest.json()["status"] == "refunded"
    assert [r["amount"]["amount"] for r in rest.json()["refunds"]] == [300, total - 300]
    refunded = events(http, admin, "PAYMENT_REFUNDED", payment["id"])
    assert [e["data"]["refund"]["amount"] for e in refunded] == [300, total - 300]
    assert sum(r[0] for r in await rows(system, """SELECT r.amount FROM simulated_refunds r
        JOIN simulated_payment_intents i ON i.id = r.intent_id WHERE i.payment_id = %s""", payment["id"])) == total
    nothing_left = http.post(url, headers=admin)
    assert nothing_left.status_code == 409 and nothing_left.json()["error"]["code"] == "not_refundable"


async def test_cancelling_a_paid_order_refunds_it(system, http, admin, shopper):
    for _ in range(3):  # the simulated courier may pick up first (cancel is then illegal): try again
        product, order = await new_order(system, http, shopper[1])
        payment = pay(http, shopper[1], order["id"], wait=8).json()
        assert payment["status"] == "succeeded"
        await eventually(lambda: order_status(http, shopper[1], order["id"]) in PAID_OR_LATER, timeout_s=20,
                         interval_s=0.05)
        cancelled = http.post(f"/api/orders/{order['id']}/cancel", headers=shopper[1])
        if cancelled.status_code == 200:
            break
    assert cancelled.status_code == 200, cancelled.text
    refunded = await eventually(lambda: payment_of(http, shopper[1], payment["id"])["status"] == "refunded",
                                timeout_s=20)
    assert refunded
    (event,) = events(http, admin, "PAYMENT_REFUNDED", payment["id"])
    assert event["data"]["reason"] == "order cancelled"
    assert event["data"]["refund"] == payment["amount"]
    await eventually(lambda: stock_of(http, product, admin) == {"available": 3, "reserved": 0, "sold": 0,
                                                                  "received": 3}, timeout_s=20)


async def test_who_sees_and_who_may_pay(system, http, admin, shopper):
    _, order = await new_order(system, http, shopper[1])
    (_, stranger), = await users_with_tokens(system, "shopper", 1)
    (_, seller), = await users_with_tokens(system, "seller", 1)
    body = {"order_id": order["id"], "payment_method": "pm_card_pending"}
    assert http.post("/api/payments", json=body).status_code == 401
    assert http.post("/api/payments", headers=seller, json=body).status_code == 403
    for refused in (pay(http, stranger, order["id"]), pay(http, shopper[1], str(uuid.uuid4())),
                    pay(http, shopper[1], "not-a-uuid")):
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "order_not_found"
    for bad in ({"order_id": order["id"], "payment_method": "4242 4242"}, {"order_id": order["id"]},
                {**body, "amount": 1}):
        assert http.post("/api/payments", headers=shopper[1], json=bad).status_code == 422
    payment = pay(http, shopper[1], order["id"], "pm_card_pending").json()
    assert http.get(f"/api/payments/{payment['id']}", headers=stranger).status_code == 404
    assert http.get(f"/api/payments/{payment['id']}", headers=admin).json()["refunds"] == []
    assert http.get(f"/api/orders/{order['id']}/payments", headers=stranger).status_code == 404
    for viewer in (shopper[1], admin):
        listed = http.get(f"/api/orders/{order['id']}/payments", headers=viewer).json()
        assert [p["id"] for p in listed["items"]] == [payment["id"]] and listed["next_cursor"] is None
