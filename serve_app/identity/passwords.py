"""Password hashing with argon2id (argon2-cffi), off the event loop.

Why the pieces are here:
- Hashing costs ~50 ms of CPU and 64 MiB at the library defaults, so it runs
  in a worker thread (`asyncio.to_thread`) and a semaphore bounds how many run
  at once per replica: the loop keeps serving and memory stays bounded.
- Unknown accounts are verified against a dummy hash made with the same
  parameters, so "no such email" and "wrong password" take the same time.
- `HashParams` defaults to argon2-cffi's own defaults; tests may pass cheaper
  ones. A stored hash made with other parameters is rehashed at the next
  successful sign-in (`check_needs_rehash`).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass

from argon2 import DEFAULT_HASH_LENGTH, DEFAULT_MEMORY_COST, DEFAULT_PARALLELISM, DEFAULT_RANDOM_SALT_LENGTH
from argon2 import DEFAULT_TIME_COST, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError


@dataclass(frozen=True)
class HashParams:
    time_cost: int = DEFAULT_TIME_COST
    memory_cost_kib: int = DEFAULT_MEMORY_COST
    parallelism: int = DEFAULT_PARALLELISM
    hash_len: int = DEFAULT_HASH_LENGTH
    salt_len: int = DEFAULT_RANDOM_SALT_LENGTH

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_cost_kib, parallelism=self.parallelism,
            hash_len=self.hash_len, salt_len=self.salt_len, type=Type.ID,
        )


@dataclass(frozen=True)
class Verified:
    ok: bool
    # Set when the password was right but the stored hash uses old parameters.
    new_hash: str | None = None

    def __repr__(self) -> str:  # never print a hash
        return f"Verified(ok={self.ok}, rehashed={self.new_hash is not None})"


class Passwords:
    def __init__(self, params: HashParams | None = None, *, max_concurrent: int | None = None):
        self.params = params or HashParams()
        self._hasher = self.params.hasher()
        self._slots = asyncio.Semaphore(max_concurrent or os.cpu_count() or 2)
        # Random, never a real password: only there to spend the same time.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(24))

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> Verified:
        """Check a password; an empty or missing hash (no account, erased account) is a miss
        that costs as much as a hit."""
        async with self._slots:
            return await asyncio.to_thread(self._verify_sync, stored_hash or None, password)

    def _verify_sync(self, stored_hash: str | None, password: str) -> Verified:
        if stored_hash is None:
            self._check(self._dummy_hash, password)
            return Verified(ok=False)
        if not self._check(stored_hash, password):
            return Verified(ok=False)
        if self._hasher.check_needs_rehash(stored_hash):
            return Verified(ok=True, new_hash=self._hasher.hash(password))
        return Verified(ok=True)

    def _check(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False
