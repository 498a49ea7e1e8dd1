"""Test harness: ONE running system per test session (real PostgreSQL, NATS, Ray).

With DATABASE_URL / NATS_URL unset, the session starts embedded servers in a
temporary state dir; with them set (e.g. the machine's own PostgreSQL on 5432
and NATS on 4222), it uses those. Ray is always a local cluster started once.
Unit tests never touch the `system` fixture, so they run without any server.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

from config import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on loopback that keeps what it receives (`.handler.messages`).

    Started before `system`, whose notifications worker mails to it."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 OK"

    controller = Controller(Inbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture(scope="session")
def system(smtp_server):
    from serve_app.runner import System

    os.environ.setdefault("RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S", "0")
    # Not pytest's tmp_path: pytest resets its base dir to mode 0700 at every
    # session start, which locks out the embedded server's own system user.
    state_dir = Path(tempfile.mkdtemp(prefix="commerce-test-"))
    settings = Settings(
        state_dir=state_dir,
        http_port=free_port(),
        embedded_nats_port=free_port(),
        haproxy_stats_port=free_port(),
        haproxy_metrics_port=free_port(),
        ray_num_cpus=int(os.environ.get("COMMERCE_TEST_RAY_CPUS", "8")),
        # Short enough for expiry and recovery tests to watch them happen.
        order_hold_ttl_s=15,
        order_recovery_grace_s=4,
        due_sweep_interval_s=1,
        stripe_webhook_secret="whsec_test_commerce_payments_webhook",
        # Small, so a test burst can trip admission control (429) on one product.
        admission_queue_limit=60,
        # Notifications and delivery: mail to `smtp_server`, a quick simulated courier.
        smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_tls="none",
        courier_pickup_delay_s=1, courier_delivery_delay_s=1,
        courier_webhook_secret="test-courier-webhook-secret",
    )
    running = System(settings)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        if os.environ.get("COMMERCE_TEST_KEEP_STATE"):  # for reading the logs after a failure
            print(f"\nstate dir kept: {state_dir}")
        else:
            shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def base_url(system) -> str:
    return system.base_url


@pytest.fixture
def http(base_url):
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


@pytest.fixture
def unique() -> str:
    """A fresh id fragment, so tests never collide on shared servers."""
    return uuid.uuid4().hex[:12]
