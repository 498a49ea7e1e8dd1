"""The Stripe adapter against localstripe, through the payments worker's handler.

The session system runs the simulated gateway; here the handler is built in
the test with a Stripe gateway pointed at a localstripe started on loopback.
The deployed `payments` worker sees the same PAYMENT_ADDED events and leaves
them alone: they belong to another provider.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import stripe
from aiohttp import web

from actors.payments.worker import PaymentEventsHandler
from events.relay import envelope_from_row
from serve_app.identity.tokens import Principal
from serve_app.payments import service
from serve_app.payments.gateway import ChargeRequest, GatewayTransient, RefundRequest
from serve_app.payments.schemas import PaymentCreate, RefundCreate
from serve_app.payments.settlement import Settlement, charge_request
from serve_app.payments.stripe_gateway import StripeGateway
from serve_app.payments.wiring import PaymentsContext
from storage import payments as sql
from tests.conftest import free_port
from tests.factories import make_product
from tests.helpers import eventually, users_with_tokens

API_KEY = "sk_test_localstripe"
# localstripe binds every interface and shares /tmp/localstripe.pickle between
# instances; this launcher keeps ours on loopback with its state in memory.
LAUNCHER = """
import socket, sys
from aiohttp import web
from localstripe import resources
from localstripe.server import app
resources.Store.dump_to_disk = lambda self: None
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1])))
web.run_app(app, sock=sock, print=None)
"""


@pytest.fixture(scope="module")
def localstripe_url():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert process.poll() is None, "localstripe exited"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture
async def gateway(localstripe_url):
    gateway = StripeGateway(API_KEY, api_base=localstripe_url, base_s=0.01)
    yield gateway
    await gateway.close()


class Crash(Exception):
    """The worker process dies here."""


class CrashBeforeConfirm:
    """Dies after the intent was created and recorded, before confirming it."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def confirm_charge(self, intent_id, charge):
        raise Crash()


class CrashAfterCreate(CrashBeforeConfirm):
    """Dies after the provider created the intent, before its id was recorded."""

    async def create_charge(self, charge):
        await self.inner.create_charge(charge)
        raise Crash()


def handler_for(pool, gateway) -> PaymentEventsHandler:
    return PaymentEventsHandler(Settlement(pool, gateway), consumer=f"test-payments-{uuid.uuid4().hex[:8]}")


async def stripe_payment(system, http, pool, gateway, method: str) -> tuple[dict, dict, str]:
    """A fresh order and a `stripe` payment for it (PAYMENT_ADDED in the outbox); the shopper's headers too."""
    (user_id, headers), = await users_with_tokens(system, "shopper", 1)
    product = await make_product(system.settings.database_url, stock=2)
    order = http.post("/api/orders", headers=headers, json={"items": [{"product_id": product, "quantity": 1}]}).json()
    principal = Principal(user_id=user_id, role="shopper", token_id="t", issued_at=0, expires_at=0)
    payment = await service.create_payment(PaymentsContext(system.settings, Settlement(pool, gateway)), principal,
                                           PaymentCreate(order_id=order["id"], payment_method=method), None)
    assert payment["provider"] == "stripe"
    return order, payment, headers


async def deliver(handler, pool, payment: dict) -> None:
    """One delivery of the payment's PAYMENT_ADDED, as the consumer runs it (one transaction)."""
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT * FROM outbox WHERE aggregate_id = %s AND type = 'PAYMENT_ADDED'", (payment["id"],))).fetchone()
    async with pool.connection() as conn, conn.transaction():
        await handler.handle(envelope_from_row(row), conn)


def intents_at_stripe(localstripe_url: str, payment_id: str) -> list:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe_url})
    found, after = [], None
    while True:
        page = client.v1.payment_intents.list(params={"limit": 100, **({"starting_after": after} if after else {})})
        found += [pi for pi in page.data if pi.metadata.to_dict().get("payment_id") == payment_id]
        if not page.has_more:
            return found
        after = page.data[-1].id


async def payment_row(pool, payment_id: str) -> dict:
    async with pool.connection() as conn:
        return await sql.get_payment(conn, payment_id)


def order_status(http, headers, order_id: str) -> str:
    return http.get(f"/api/orders/{order_id}", headers=headers).json()["status"]


async def test_a_card_payment_succeeds_at_stripe(system, http, pool, gateway, localstripe_url):
    order, payment, headers = await stripe_payment(system, http, pool, gateway, "pm_card_visa")
    await deliver(handler_for(pool, gateway), pool, payment)
    row = await payment_row(pool, payment["id"])
    assert row["status"] == "succeeded" and row["provider_ref"].startswith("pi_")
    (intent,) = intents_at_stripe(localstripe_url, payment["id"])
    assert (intent.id, intent.status, intent.amount, intent.currency) == (
        row["provider_ref"], "succeeded", payment["amount"]["amount"], "usd")
    await eventually(lambda: order_status(http, headers, order["id"]) != "AWAITING_PAYMENT", timeout_s=20)
    assert order_status(http, headers, order["id"]) in {"PAID", "FULFILLING", "SHIPPED", "DELIVERED", "COMPLETED"}


@pytest.mark.parametrize(("method", "reason"), [
    ("pm_card_chargeCustomerFail", "card_declined"),  # declined when charged
    ("pm_card_chargeDeclined", "invalid_payment_method"),  # unknown to localstripe: refused at creation
])
async def test_a_declined_card_fails_the_payment_and_the_order(system, http, pool, gateway, method, reason):
    order, payment, headers = await stripe_payment(system, http, pool, gateway, method)
    await deliver(handler_for(pool, gateway), pool, payment)
    row = await payment_row(pool, payment["id"])
    assert (row["status"], row["failure_reason"]) == ("failed", reason)
    await eventually(lambda: order_status(http, headers, order["id"]) == "PAYMENT_FAILED", timeout_s=20)


async def test_localstripe_ignores_idempotency_keys_so_doubles_would_show(system, http, pool, gateway,
                                                                         localstripe_url):
    _, payment, _ = await stripe_payment(system, http, pool, gateway, "pm_card_visa")
    charge = charge_request(await payment_row(pool, payment["id"]))
    await gateway.create_charge(charge)
    await gateway.create_charge(charge)  # same idempotency key
    assert len(intents_at_stripe(localstripe_url, payment["id"])) == 2


@pytest.mark.parametrize("crash", [CrashBeforeConfirm, CrashAfterCreate])
async def test_a_redelivery_after_a_crash_creates_no_second_intent(system, http, pool, gateway, localstripe_url,
                                                                   crash):
    order, payment, headers = await stripe_payment(system, http, pool, gateway, "pm_card_visa")
    with pytest.raises(Crash):
        await deliver(handler_for(pool, crash(gateway)), pool, payment)
    row = await payment_row(pool, payment["id"])
    assert row["status"] == "processing" and row["charge_started_at"] is not None
    assert (row["provider_ref"] is None) is (crash is CrashAfterCreate)
    assert len(intents_at_stripe(localstripe_url, payment["id"])) == 1

    handler = handler_for(pool, gateway)
    await deliver(handler, pool, payment)  # the redelivery resumes the intent
    await deliver(handler, pool, payment)  # and another changes nothing
    row = await payment_row(pool, payment["id"])
    (intent,) = intents_at_stripe(localstripe_url, payment["id"])
    assert (row["status"], row["provider_ref"], intent.status) == ("succeeded", intent.id, "succeeded")
    assert row["charge_attempts"] == 2
    await eventually(lambda: order_status(http, headers, order["id"]) != "AWAITING_PAYMENT", timeout_s=20)


async def test_refunds_at_stripe_are_made_once(system, http, pool, gateway, localstripe_url):
    _, payment, _ = await stripe_payment(system, http, pool, gateway, "pm_card_visa")
    await deliver(handler_for(pool, gateway), pool, payment)
    (admin_id, _), = await users_with_tokens(system, "admin", 1)
    admin = Principal(user_id=admin_id, role="admin", token_id="t", issued_at=0, expires_at=0)
    ctx = PaymentsContext(system.settings, Settlement(pool, gateway))
    part = await service.refund_payment(ctx, admin, payment["id"], RefundCreate(amount=100), None)
    assert part["status"] == "partially_refunded" and part["refunded"]["amount"] == 100

    # A refund the provider made but we never recorded (crash after the call): resumed, not repeated.
    row = await payment_row(pool, payment["id"])
    refund_id = uuid.uuid4()
    async with pool.connection() as conn:
        await sql.insert_refund(conn, {"id": refund_id, "payment_id": payment["id"], "amount": 50,
                                       "reason": "test", "requested_by": None})
        await sql.mark_refund_attempt(conn, refund_id)
        await conn.commit()
    await gateway.refund(RefundRequest(str(refund_id), payment["id"], row["provider_ref"], 50, "USD"))
    await ctx.settlement.settle_refunds(payment["id"])
    refunds = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe_url}).v1.refunds.list(
        params={"payment_intent": row["provider_ref"], "limit": 100}).data
    assert sorted(r.amount for r in refunds) == [50, 100]
    assert (await payment_row(pool, payment["id"]))["refunded_amount"] == 150


@pytest.fixture
async def flaky_stripe(localstripe_url):
    """A proxy in front of localstripe that answers the next queued faults first."""
    faults: list = []
    seen: list[str] = []

    async def forward(request: web.Request) -> web.Response:
        seen.append(request.path)
        if faults:
            fault = faults.pop(0)
            if fault == "slow":
                await asyncio.sleep(1.0)
            else:
                return web.Response(status=fault, text='{"error": {"message": "try later"}}',
                                    content_type="application/json")
        async with httpx.AsyncClient(base_url=localstripe_url) as client:
            upstream = await client.request(request.method, str(request.rel_url), content=await request.read(),
                                            headers={k: v for k, v in request.headers.items() if k.lower() != "host"})
        return web.Response(status=upstream.status_code, body=upstream.content,
                            content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", faults, seen
    await runner.cleanup()


async def test_timeouts_5xx_and_429_are_retried_then_reported_transient(flaky_stripe):
    url, faults, seen = flaky_stripe
    gateway = StripeGateway(API_KEY, api_base=url, timeout_s=0.5, attempts=4, base_s=0.01)
    try:
        faults.extend([503, 429, "slow"])
        charge = ChargeRequest(str(uuid.uuid4()), str(uuid.uuid4()), 500, "USD", "pm_card_visa")
        intent_id = await gateway.create_charge(charge)
        assert intent_id.startswith("pi_") and len(seen) == 4
        faults.extend([500] * 4)
        with pytest.raises(GatewayTransient):
            await gateway.confirm_charge(intent_id, charge)
        assert len(seen) == 8
        assert (await gateway.confirm_charge(intent_id, charge)).status == "succeeded"
    finally:
        await gateway.close()
