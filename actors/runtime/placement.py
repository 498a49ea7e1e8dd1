"""Which shard hosts a key: a stable hash, the same on every node and after restarts.

Python's `hash()` is salted per process, so it would scatter a key across
shards; BLAKE2b of the UTF-8 key is stable. Hot keys may be pinned to
dedicated shards numbered after the ordinary ones, so pinning never moves
any other key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def stable_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


class Placement:
    def __init__(self, shard_count: int, hot_keys: Mapping[str, int] | None = None):
        if shard_count < 1:
            raise ValueError("shard_count must be >= 1")
        self.shard_count = shard_count
        self.hot_keys = dict(hot_keys or {})

    @property
    def total_shards(self) -> int:
        """Ordinary shards plus one per dedicated hot-key slot in use."""
        return self.shard_count + (max(self.hot_keys.values()) + 1 if self.hot_keys else 0)

    def shard_for(self, key: str) -> int:
        slot = self.hot_keys.get(key)
        if slot is not None:
            return self.shard_count + slot
        return stable_hash(key) % self.shard_count
