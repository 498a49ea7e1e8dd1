"""A replica's short memory of sold-out products, for the flash-sale stampede.

When a product answered "out of stock, 0 available", further checkouts for it
are refused for a moment without opening an order or asking the actor. When
the moment passes, ONE checkout goes through to ask again (the others keep
being refused until it answers), so a stampede does not hit the actors each
time the memory fades.

This can only refuse too much, never sell too much: stock that comes back (an
expired hold, a cancel, a restock) is sold again within about `ttl_s`. A
refusal creates nothing, so there is no first response to keep for its key.
"""

from __future__ import annotations

import time
from contextlib import contextmanager


class SoldOutMemory:
    def __init__(self, ttl_s: float = 1.0):
        self._ttl_s = ttl_s
        self._until: dict[str, float] = {}
        self._probing: set[str] = set()

    def remember(self, product_id: str) -> None:
        self._until[product_id] = time.monotonic() + self._ttl_s

    def remembers_any(self) -> bool:
        """Anything to refuse at all (a cheap first test for the gate)."""
        return bool(self._until or self._probing)

    def sold_out(self, product_ids) -> list[str]:
        """The products to refuse now. A product whose memory faded is let through
        once (its caller becomes the probe, see `probe`) and refused meanwhile."""
        now = time.monotonic()
        refused = []
        for pid in product_ids:
            if pid in self._probing or self._until.get(pid, 0.0) > now:
                refused.append(pid)
        return refused

    @contextmanager
    def probe(self, product_ids):
        """Mark faded products as being asked again for the duration of one checkout."""
        now = time.monotonic()
        mine = [pid for pid in product_ids if pid in self._until and self._until[pid] <= now]
        for pid in mine:
            del self._until[pid]  # forgotten unless the probe finds it sold out again
            self._probing.add(pid)
        try:
            yield
        finally:
            self._probing.difference_update(mine)
