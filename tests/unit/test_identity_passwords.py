"""argon2id hashing: verification, the dummy-hash timing guard, rehash on parameter change."""

from __future__ import annotations

import asyncio
import statistics
import time

from argon2 import PasswordHasher

from serve_app.identity.passwords import HashParams, Passwords

CHEAP = HashParams(time_cost=1, memory_cost_kib=8, parallelism=1)


def test_defaults_are_argon2_cffi_defaults():
    library = PasswordHasher()
    hasher = HashParams().hasher()
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len, hasher.salt_len) == (
        library.time_cost, library.memory_cost, library.parallelism, library.hash_len, library.salt_len
    )


async def test_hash_is_argon2id_and_verifies():
    passwords = Passwords(CHEAP)
    stored = await passwords.hash("correct horse")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert (await passwords.verify(stored, "correct horse")).ok
    assert not (await passwords.verify(stored, "correct horsE")).ok


async def test_missing_or_empty_or_garbage_hash_is_a_miss():
    passwords = Passwords(CHEAP)
    for stored in (None, "", "not-a-hash"):
        assert not (await passwords.verify(stored, "whatever1")).ok


async def test_rehash_when_parameters_changed():
    old = await Passwords(CHEAP).hash("correct horse")
    stronger = Passwords(HashParams(time_cost=2, memory_cost_kib=16, parallelism=1))
    verified = await stronger.verify(old, "correct horse")
    assert verified.ok and verified.new_hash and verified.new_hash != old
    assert "m=16" in verified.new_hash
    assert "rehashed=True" in repr(verified) and "$argon2" not in repr(verified)
    again = await stronger.verify(verified.new_hash, "correct horse")
    assert again.ok and again.new_hash is None
    assert (await stronger.verify(old, "wrong horse")).new_hash is None


async def test_unknown_account_costs_about_as_much_as_a_wrong_password():
    """The dummy hash uses the same parameters, so both paths do one argon2 verification."""
    passwords = Passwords(HashParams(time_cost=2, memory_cost_kib=16 * 1024, parallelism=1))
    stored = await passwords.hash("correct horse")

    async def timed(stored_hash):
        started = time.perf_counter()
        await passwords.verify(stored_hash, "wrong horse")
        return time.perf_counter() - started

    known = statistics.median([await timed(stored) for _ in range(5)])
    unknown = statistics.median([await timed(None) for _ in range(5)])
    assert 0.5 < unknown / known < 2.0, (known, unknown)


async def test_hashing_runs_off_the_event_loop():
    passwords = Passwords(HashParams(time_cost=3, memory_cost_kib=32 * 1024, parallelism=1))
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await passwords.hash("correct horse")
    elapsed = time.perf_counter() - started
    task.cancel()
    # The loop kept ticking while the hash was computed in a thread.
    assert ticks >= max(2, int(elapsed / 0.005 * 0.3)), (ticks, elapsed)
