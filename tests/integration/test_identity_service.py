"""Identity use cases against the real database: rehash, revocation, refresh races, erasure."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from domain.errors import Unauthenticated
from serve_app.identity.passwords import HashParams, Passwords
from serve_app.identity.revocation import Revocations
from serve_app.identity.schemas import RegisterRequest, UserUpdate
from serve_app.identity.wiring import build_identity
from storage import users

CHEAP = HashParams(time_cost=1, memory_cost_kib=8, parallelism=1)
STRONGER = HashParams(time_cost=2, memory_cost_kib=16, parallelism=1)
PASSWORD = "correct horse battery"


def identity(system, pool, tokens, params=CHEAP):
    return build_identity(system.settings, pool, tokens, passwords=Passwords(params))


async def register(ids, role="shopper"):
    email = f"svc-{uuid.uuid4().hex}@example.test"
    return await ids.auth.register(RegisterRequest(email=email, password=PASSWORD, name="Svc", role=role))


async def stored_user(pool, user_id):
    async with pool.connection() as conn:
        return await users.get_user(conn, user_id)


async def test_login_rehashes_when_parameters_changed(system, pool, tokens):
    session = await register(identity(system, pool, tokens, CHEAP))
    before = await stored_user(pool, session.user.id)
    assert "m=8," in before.password_hash
    upgraded = identity(system, pool, tokens, STRONGER)
    await upgraded.auth.login(session.user.email, PASSWORD, "test-client")
    after = await stored_user(pool, session.user.id)
    assert "m=16," in after.password_hash
    assert after.token_generation == before.token_generation  # a rehash revokes nothing
    assert tokens.verify(session.access_token)  # and the earlier session still works
    await upgraded.revocations.ensure_not_revoked(tokens.verify(session.access_token))


async def test_the_changing_replica_forgets_at_once(system, pool, tokens):
    ids = identity(system, pool, tokens)
    session = await register(ids)
    principal = tokens.verify(session.access_token)
    await ids.revocations.poll()  # fresh memory: trusted without a lookup ...
    await ids.revocations.ensure_not_revoked(principal)
    assert ids.revocations.verdict(principal) is True
    await ids.profiles.update(principal, UserUpdate(current_password=PASSWORD, new_password="another password"), None)
    with pytest.raises(Unauthenticated):  # ... but not after this replica's own change
        await ids.revocations.ensure_not_revoked(principal)


async def test_unknown_or_malformed_subject_is_refused(pool, tokens):
    revocations = Revocations(pool)
    for subject, code in ((str(uuid.uuid4()), "token_revoked"), ("not-a-uuid", "invalid_token")):
        with pytest.raises(Unauthenticated) as caught:
            await revocations.ensure_not_revoked(tokens.verify(tokens.issue(subject, "shopper")))
        assert caught.value.code == code


async def test_concurrent_use_of_one_refresh_token_is_reuse(system, pool, tokens):
    ids = identity(system, pool, tokens)
    session = await register(ids)
    results = await asyncio.gather(
        ids.auth.refresh(session.refresh_token), ids.auth.refresh(session.refresh_token), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], Unauthenticated) and losers[0].code == "refresh_token_reused"
    with pytest.raises(Unauthenticated) as caught:
        await ids.auth.refresh(winners[0].refresh_token)
    assert caught.value.code == "refresh_token_revoked"


async def test_erasure_scrubs_personal_data_from_the_outbox(system, pool, tokens):
    ids = identity(system, pool, tokens)
    session = await register(ids)
    await ids.profiles.erase(tokens.verify(session.access_token))
    async with pool.connection() as conn:
        rows = await (await conn.execute(
            "SELECT type, data FROM outbox WHERE aggregate_id = %s ORDER BY sequence", (str(session.user.id),)
        )).fetchall()
        row = await (await conn.execute(
            "SELECT email, name, password_hash, deleted_at FROM users WHERE id = %s", (session.user.id,)
        )).fetchone()
    assert [r["type"] for r in rows] == ["USER_REGISTERED", "USER_DELETED"]
    assert rows[0]["data"] == {"user_id": str(session.user.id), "role": "shopper"}
    assert row["email"] == f"deleted-{session.user.id}@invalid"
    assert row["name"] == "" and row["password_hash"] == "" and row["deleted_at"] is not None
