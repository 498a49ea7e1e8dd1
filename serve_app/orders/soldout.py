"""A replica's short memory of sold-out products, for the flash-sale stampede.

When a product answered "out of stock, 0 available", further checkouts for it
are refused for a moment without opening an order or asking the actor. When
the moment passes, ONE checkout goes through to ask again (the others keep
being refused until it answers), so a stampede does not hit the actors each
time the memory fades.

This can only refuse too much, never sell too much: stock that comes back (an
expired hold, a cancel, a restock) is sold again within about `ttl_s`. A
refusal creates nothing, so there is no first response to keep for its key.

But a checkout that already has an order must get that order: a shopper whose
201 was lost retries with the same Idempotency-Key, and by then the product
may be sold out. So the memory also keeps the product's holders, the ids of
the orders its reservations belong to, read when it is remembered and again
after each probe, and never refuses a checkout whose order (derived from
shopper and key) is among them; until they are read, it refuses only
checkouts without a key. One gap is left: an order another replica placed
since the last read (stock came back and sold again within about `ttl_s`),
whose retry reaches this replica before its next read, is refused once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextlib import contextmanager


class SoldOutMemory:
    def __init__(self, ttl_s: float = 1.0):
        self._ttl_s = ttl_s
        self._until: dict[str, float] = {}
        self._probing: set[str] = set()
        self._holders: dict[str, frozenset[str] | None] = {}  # None: not known yet

    def remember(self, product_id: str) -> None:
        """Sold out now. Its holders stay as they were: unknown the first time (see `holders_known`)."""
        self._until[product_id] = time.monotonic() + self._ttl_s
        self._holders.setdefault(product_id, None)

    def remembers(self, product_id: str) -> bool:
        """Remembered now (not faded, not being probed)."""
        return self._until.get(product_id, 0.0) > time.monotonic()

    def holders_known(self, product_id: str, holders: Iterable[str]) -> None:
        """The orders holding (or lately holding) the product's units, read after it sold out."""
        if product_id in self._holders:
            self._holders[product_id] = frozenset(holders)

    def remembers_any(self) -> bool:
        """Anything to refuse at all (a cheap first test for the gate)."""
        return bool(self._until or self._probing)

    def sold_out(self, product_ids, order_id: str | None = None) -> list[str]:
        """The products to refuse now. A product whose memory faded is let through
        once (its caller becomes the probe, see `probe`) and refused meanwhile.

        `order_id`: the order a keyed checkout is. It is refused only if that
        order is not among the product's holders, so unknown holders refuse
        only checkouts without a key (new orders)."""
        now = time.monotonic()
        refused = []
        for pid in product_ids:
            if pid in self._probing or self._until.get(pid, 0.0) > now:
                holders = self._holders.get(pid)
                if order_id is None or (holders is not None and order_id not in holders):
                    refused.append(pid)
        return refused

    @contextmanager
    def probe(self, product_ids):
        """Mark faded products as being asked again for the duration of one checkout."""
        now = time.monotonic()
        mine = [pid for pid in product_ids if pid in self._until and self._until[pid] <= now]
        for pid in mine:
            del self._until[pid]  # forgotten unless the probe finds it sold out again
            self._probing.add(pid)  # its holders stay in use until the probe reads them again
        try:
            yield
        finally:
            self._probing.difference_update(mine)
            for pid in mine:
                if pid not in self._until:  # stock was back: nothing to keep
                    self._holders.pop(pid, None)
