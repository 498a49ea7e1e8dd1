"""Access-token revocation against the real database: memory kept fresh by a poll.

Revocations "done elsewhere" are plain UPDATEs through `storage.users`, as
another replica would run them; this replica's `Revocations` is never told.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from domain.errors import Unauthenticated
from serve_app.identity.revocation import STALE_AFTER_S, Revocations
from storage import users
from storage.pool import open_pool
from tests.factories import make_user


class CountingPool:
    """The real pool, counting the connections taken (one per lookup or poll)."""

    def __init__(self, pool):
        self._pool = pool
        self.taken = 0

    def connection(self, **kwargs):
        self.taken += 1
        return self._pool.connection(**kwargs)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def new_user(pool) -> uuid.UUID:
    async with pool.connection() as conn:
        return await make_user(conn, role="shopper")


async def revoke_elsewhere(pool, user_id: uuid.UUID) -> None:
    async with pool.connection() as conn:
        await users.set_password_hash(conn, user_id, "$argon2id$elsewhere", revoke_tokens=True)


def principal(tokens, user_id, generation=0):
    return tokens.verify(tokens.issue(str(user_id), "shopper", generation=generation))


async def test_a_revocation_elsewhere_reaches_memory_through_the_poll(pool, tokens):
    revocations = Revocations(pool, poll_interval_s=0.05, stale_after_s=1.0)
    user_id = await new_user(pool)
    old = principal(tokens, user_id)
    await revocations.start()
    try:
        await asyncio.sleep(0.2)  # the first poll has run: memory is fresh
        await revocations.ensure_not_revoked(old)
        assert revocations.verdict(old) is True
        await revoke_elsewhere(pool, user_id)
        for _ in range(60):  # verdict() does no I/O: only the poll can change it
            if revocations.verdict(old) is False:
                break
            await asyncio.sleep(0.05)
        assert revocations.verdict(old) is False
        assert revocations.known[user_id].token_generation == 1  # updated, not forgotten
        with pytest.raises(Unauthenticated) as caught:
            await revocations.ensure_not_revoked(old)
        assert caught.value.code == "token_revoked"
    finally:
        await revocations.close()
    assert revocations.verdict(principal(tokens, user_id, 1)) is None  # stopped: memory not trusted


async def test_a_known_user_is_answered_from_memory_while_the_poll_is_fresh(pool, tokens):
    counted, clock = CountingPool(pool), Clock()
    revocations = Revocations(counted, clock=clock)
    user_id = await new_user(pool)
    await revocations.poll()
    await revocations.ensure_not_revoked(principal(tokens, user_id))  # first sight: one lookup
    assert counted.taken == 2
    clock.now += 1.9
    for _ in range(50):
        await revocations.ensure_not_revoked(principal(tokens, user_id))
    assert counted.taken == 2


async def test_concurrent_first_requests_of_a_user_share_one_lookup(pool, tokens):
    counted = CountingPool(pool)
    revocations = Revocations(counted)
    user_id = await new_user(pool)
    await revocations.poll()
    polls = counted.taken
    await asyncio.gather(*(revocations.ensure_not_revoked(principal(tokens, user_id)) for _ in range(20)))
    assert counted.taken == polls + 1


async def test_a_lookup_under_way_is_not_shared_across_a_revocation_by_this_replica(pool, tokens):
    """A request that arrives after this replica revoked the user must not take the
    answer of a lookup that started before: it looks up again and is refused."""
    revocations = Revocations(pool)
    user_id = await new_user(pool)
    old = principal(tokens, user_id)
    await revocations.poll()
    before = asyncio.create_task(revocations.ensure_not_revoked(old))
    await asyncio.sleep(0)  # its lookup is under way
    await revoke_elsewhere(pool, user_id)
    revocations.forget(user_id)  # what the revoking replica does right after
    with pytest.raises(Unauthenticated):
        await revocations.ensure_not_revoked(old)
    await asyncio.gather(before, return_exceptions=True)  # either verdict is fair for the earlier request


async def test_a_stale_poll_falls_back_to_lookups(pool, tokens):
    counted, clock = CountingPool(pool), Clock()
    revocations = Revocations(counted, clock=clock)
    user_id = await new_user(pool)
    old = principal(tokens, user_id)
    await revocations.poll()
    await revocations.ensure_not_revoked(old)
    await revoke_elsewhere(pool, user_id)  # no poll follows
    await revocations.ensure_not_revoked(old)  # fresh memory: the documented window
    clock.now += STALE_AFTER_S
    assert revocations.verdict(old) is None
    taken = counted.taken
    with pytest.raises(Unauthenticated):
        await revocations.ensure_not_revoked(old)
    assert counted.taken == taken + 1
    assert revocations.known[user_id].token_generation == 1  # remembered


async def test_a_token_newer_than_memory_is_looked_up_and_accepted(pool, tokens):
    counted = CountingPool(pool)
    revocations = Revocations(counted)
    user_id = await new_user(pool)
    await revocations.poll()
    await revocations.ensure_not_revoked(principal(tokens, user_id))
    await revoke_elsewhere(pool, user_id)
    taken = counted.taken
    await revocations.ensure_not_revoked(principal(tokens, user_id, generation=1))  # signed in again
    assert counted.taken == taken + 1
    assert revocations.verdict(principal(tokens, user_id, generation=0)) is False  # and the old one is out


async def test_the_overlap_catches_a_revocation_stamped_before_the_previous_poll(pool, tokens):
    revocations = Revocations(pool)
    user_id = await new_user(pool)
    old = principal(tokens, user_id)
    await revocations.poll()
    await revocations.ensure_not_revoked(old)
    await revocations.poll()
    async with pool.connection() as conn:  # a transaction that committed late: stamped 5 s ago
        await conn.execute(
            """UPDATE users SET token_generation = token_generation + 1,
                                tokens_revised_at = now() - interval '5 seconds' WHERE id = %s""",
            (user_id,),
        )
    await revocations.poll()
    assert revocations.verdict(old) is False


async def test_the_first_poll_drops_what_it_cannot_vouch_for(pool, tokens):
    revocations = Revocations(pool)
    user_id = await new_user(pool)
    await revocations.ensure_not_revoked(principal(tokens, user_id))  # no poller: a lookup, remembered
    assert user_id in revocations.known
    await revocations.poll()
    assert user_id not in revocations.known


async def test_memory_is_bounded_and_evicts_the_oldest(pool, tokens):
    revocations = Revocations(pool, max_entries=3)
    ids = [await new_user(pool) for _ in range(5)]
    for user_id in ids:
        await revocations.ensure_not_revoked(principal(tokens, user_id))
    assert list(revocations.known) == ids[2:]


async def test_migration_0012_stamps_every_revocation(pool):
    async with pool.connection() as conn:
        index = await (await conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'users' AND indexname = 'users_tokens_revised'"
        )).fetchone()
        assert "WHERE (tokens_revised_at IS NOT NULL)" in index["indexdef"]
        rehashed, changed, erased = [await make_user(conn, role="shopper") for _ in range(3)]
        _, since = await users.token_revisions_since(conn, None)
        await users.set_password_hash(conn, rehashed, "$argon2id$same", revoke_tokens=False)
        await users.set_password_hash(conn, changed, "$argon2id$new", revoke_tokens=True)
        assert await users.erase(conn, erased)
        await conn.commit()
        revisions, now = await users.token_revisions_since(conn, since)
    found = {r.user_id: r.state for r in revisions}
    assert found[changed] == users.TokenState(1, False)
    assert found[erased] == users.TokenState(1, True)
    assert rehashed not in found
    assert now >= max(r.revised_at for r in revisions) > since


async def test_with_a_dsn_the_poll_has_its_own_connection_and_survives_a_saturated_pool(system, tokens):
    small = await open_pool(system.settings.database_url, max_size=1, name="test-revocation-small")
    try:
        user_id = await new_user(small)
        old = principal(tokens, user_id)
        revocations = Revocations(small, poll_interval_s=0.05, stale_after_s=0.5,
                                  poll_dsn=system.settings.database_url)
        await revocations.poll()
        await revocations.ensure_not_revoked(old)  # known
        async with small.connection() as held:  # every pooled connection busy (checkouts in a rush)
            await revocations.poll()  # would wait for the pool and time out without its own connection
            assert revocations.verdict(old) is True
            await users.set_password_hash(held, user_id, "$argon2id$elsewhere", revoke_tokens=True)
            await held.commit()
            await revocations.poll()
            assert revocations.verdict(old) is False
        await revocations.close()
    finally:
        await small.close()
