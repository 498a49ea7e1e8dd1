"""No password, hash or token in a log line, an event or an error body."""

from __future__ import annotations

import asyncio
import time
import uuid

import psycopg
from nats.js.api import ConsumerConfig, DeliverPolicy

from events.envelope import EventEnvelope
from events.stream import connect
from tests.e2e.test_identity_auth_http import bearer, new_email


async def outbox_rows(dsn: str, user_id: str, timeout_s: float = 30) -> list[tuple]:
    """This user's outbox rows, once the relay has published all of them."""
    deadline = time.monotonic() + timeout_s
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            rows = await (await conn.execute(
                "SELECT type, data::text, published_at FROM outbox WHERE aggregate_id = %s ORDER BY sequence",
                (user_id,),
            )).fetchall()
            if rows and all(r[2] is not None for r in rows):
                return rows
            await asyncio.sleep(0.2)
    raise AssertionError("the user's events were not published in time")


async def stream_messages(nats_url: str, user_id: str) -> list[bytes]:
    nc = await connect(nats_url, name="test-identity-secrets")
    try:
        sub = await nc.jetstream().pull_subscribe(
            "commerce.user.>", durable=None, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        )
        found = []
        while True:
            try:
                msgs = await sub.fetch(500, timeout=1.5)
            except TimeoutError:
                break
            for msg in msgs:
                if EventEnvelope.from_bytes(msg.data).aggregate_id == user_id:
                    found.append(msg.data)
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


def read_log(system, request_id: str, timeout_s: float = 10) -> str:
    """The JSON log file the Serve replicas write, once it holds this test's last request."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = system.settings.log_file.read_text() if system.settings.log_file.exists() else ""
        if request_id in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"request {request_id} never reached {system.settings.log_file}")


def test_secrets_stay_out_of_logs_events_and_errors(system, http):
    password, new_password = f"pw-{uuid.uuid4().hex}", f"pw2-{uuid.uuid4().hex}"
    email = new_email("secret")
    registered = http.post("/api/auth/register", json={"email": email, "password": password, "name": "Sec Ret"})
    assert registered.status_code == 201
    session = registered.json()
    user_id = session["user"]["id"]
    secrets = {password, new_password, session["access_token"], session["refresh_token"]}

    responses = [
        http.post("/api/auth/login", json={"email": email, "password": password}),
        http.post("/api/auth/login", json={"email": email, "password": password + "x"}),
        http.post("/api/auth/register", json={"email": email, "password": password, "name": "Again"}),
        http.post("/api/auth/register", json={"email": "bad", "password": "short", "name": "x"}),
        http.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]}),
    ]
    rotated = responses[-1].json()
    secrets |= {responses[0].json()["access_token"], responses[0].json()["refresh_token"],
                rotated["access_token"], rotated["refresh_token"]}
    responses.append(http.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]}))
    responses.append(http.patch("/api/users/me", headers=bearer(rotated),
                                json={"current_password": password + "x", "new_password": new_password}))
    responses.append(http.get("/api/users/me", headers=bearer(session["access_token"] + "tampered")))
    changed = http.patch("/api/users/me", headers=bearer(rotated),
                         json={"current_password": password, "new_password": new_password})
    assert changed.status_code == 200, changed.text
    last = http.delete("/api/users/me", headers={**bearer(
        http.post("/api/auth/login", json={"email": email, "password": new_password}).json()),
        "X-Request-ID": f"secrets-{uuid.uuid4().hex}"})
    assert last.status_code == 204

    for response in responses:
        assert response.status_code >= 200
        if response.status_code >= 400:
            leaked = [s for s in secrets if s in response.text]
            assert not leaked, response.text
            assert "$argon2" not in response.text

    rows = asyncio.run(outbox_rows(system.settings.database_url, user_id))
    assert [r[0] for r in rows] == ["USER_REGISTERED", "USER_UPDATED", "USER_DELETED"]
    messages = asyncio.run(stream_messages(system.settings.nats_url, user_id))
    assert len(messages) == 3
    # The published registration still carries email and name (the notification worker needs them).
    assert email.encode() in b"".join(messages)
    log_text = read_log(system, last.headers["x-request-id"])
    assert "/api/auth/register" in log_text and "/api/auth/login" in log_text
    for where, text in (("outbox", " ".join(r[1] for r in rows)),
                        ("stream", b"".join(messages).decode()), ("log", log_text)):
        assert not [s for s in secrets if s in text], where
        assert "$argon2" not in text, where
