"""A replica's short memory of sold-out products, for the flash-sale stampede.

When a product answered "out of stock, 0 available", further checkouts for it
are refused for a moment without opening an order or asking the actor. This
can only refuse too much, never sell too much: stock that comes back (an
expired hold, a cancel, a restock) is sold again within `ttl_s`. A refusal
creates nothing, so there is no first response to keep for its key.
"""

from __future__ import annotations

import time


class SoldOutMemory:
    def __init__(self, ttl_s: float = 0.5):
        self._ttl_s = ttl_s
        self._until: dict[str, float] = {}

    def remember(self, product_id: str) -> None:
        self._until[product_id] = time.monotonic() + self._ttl_s

    def sold_out(self, product_ids) -> list[str]:
        now = time.monotonic()
        return [pid for pid in product_ids if self._until.get(pid, 0.0) > now]
