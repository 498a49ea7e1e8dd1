"""The audit after a flash sale: nothing oversold, nothing lost, one order per key.

`evaluate()` is pure: it judges what the run observed against a snapshot of
what the API shows afterwards. `audit()` takes that snapshot through any
`AuditApi` (HTTP in `client.py`, a fake in the unit tests) and retries while
orders are mid-move (a hold expiring between two reads), so a passing system
never fails on timing and a failing one always does.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Protocol

from serve_app.loadtest.model import CREATED, UNRESOLVED, Attempt, Observed

# An order's stock intent (its public `stock` field): which units it holds in reserved + sold.
HOLDING = frozenset({"held", "committing", "committed"})
IN_MOTION = frozenset({"reserving", "releasing"})
NOT_PLACED = frozenset({"REJECTED", "PENDING"})
EXAMPLES = 5


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class AuditReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def as_dict(self) -> dict:
        return {"ok": self.ok, "checks": [asdict(check) for check in self.checks]}


@dataclass(frozen=True)
class Snapshot:
    """What the API shows after the run."""

    stock: dict  # the owner's view: available, reserved, sold, received
    fetched: dict[str, tuple[int, dict | None]]  # created order id -> (HTTP status, body) read by its shopper
    listed: list[dict]  # every order of the seller's listing that holds the product, all pages


class AuditApi(Protocol):
    async def stock(self, product_id: str) -> dict: ...

    async def order(self, order_id: str, token: str) -> tuple[int, dict | None]: ...

    async def orders_with(self, product_id: str) -> list[dict]: ...


def _some(values) -> str:
    values = sorted(values, key=str)
    more = f" (+{len(values) - EXAMPLES} more)" if len(values) > EXAMPLES else ""
    return ", ".join(str(v) for v in values[:EXAMPLES]) + more


def _problems(*found: tuple[str, list]) -> list[str]:
    """One phrase per non-empty list of offenders, e.g. "listed twice: o1, o2"."""
    return [f"{what}: {_some(offenders)}" for what, offenders in found if offenders]


def units_of(order: dict | None, product_id: str) -> int:
    if not order:
        return 0
    return sum(item.get("quantity", 0) for item in order.get("items", []) if item.get("product_id") == product_id)


# -- rules, each usable on its own (the benchmark audits with a few of them) ---------

def check_answered(attempts: list[Attempt]) -> Check:
    open_ = [a for a in attempts if a.outcome == UNRESOLVED]
    labels = Counter(a.final.label if a.final else "never sent" for a in open_)
    return Check("every attempt answered", not open_,
                 f"{len(attempts) - len(open_)} of {len(attempts)} got 201 or 409 out_of_stock"
                 + (f"; unresolved: {dict(labels)}" if open_ else ""))


def check_successes(created: int, demand: int, stock: int, quantity: int = 1, released: int = 0) -> Check:
    """Exactly min(stock, demand); a hold released during the run (expired, cancelled) may sell again."""
    expected = min(stock // quantity, demand)
    most = min((stock + released) // quantity, demand)
    allowed = str(expected) if most == expected else f"{expected}..{most} ({released} unit(s) released meanwhile)"
    return Check("successes == min(stock, demand)", expected <= created <= most,
                 f"{created} orders created; stock {stock} unit(s), demand {demand} checkout(s): expected {allowed}")


def check_conservation(figures: dict, received: int) -> Check:
    a, r, s, rc = (figures.get(k) for k in ("available", "reserved", "sold", "received"))
    if None in (a, r, s, rc):
        return Check("stock conserved", False, f"stock figures incomplete (are you the owner?): {figures}")
    ok = a + r + s == rc == received and min(a, r, s) >= 0
    return Check("stock conserved", ok,
                 f"available {a} + reserved {r} + sold {s} = {a + r + s}; received {rc}; created with {received}")


def check_held(figures: dict, held_low: int, held_high: int, what: str = "acknowledged orders") -> Check:
    """No oversell: the units taken (reserved + sold) are exactly those the acknowledged orders hold."""
    r, s, rc = figures.get("reserved", 0), figures.get("sold", 0), figures.get("received", 0)
    taken = r + s
    ok = taken <= rc and held_low <= taken <= held_high
    held = str(held_low) if held_low == held_high else f"{held_low}..{held_high}"
    return Check("no oversell", ok, f"reserved {r} + sold {s} = {taken} (received {rc}); {what} hold {held} unit(s)")


def check_one_order_per_key(attempts: list[Attempt]) -> Check:
    keys = Counter(a.key for a in attempts)
    reused = [k for k, n in keys.items() if n > 1]
    split = [a.key for a in attempts if len(a.order_ids) > 1]
    owners: dict[str, list[str]] = {}
    for attempt in attempts:
        for order_id in attempt.order_ids:
            owners.setdefault(order_id, []).append(attempt.key)
    shared = [o for o, ks in owners.items() if len(ks) > 1]
    problems = _problems(("keys sent as two attempts", reused), ("keys answered with two orders", split),
                         ("orders answered to two keys", shared))
    return Check("one order per Idempotency-Key", not problems,
                 "; ".join(problems) or f"{len(owners)} order id(s) over {len(keys)} key(s), none shared or split")


def check_orders_exist(observed: Observed, fetched: dict[str, tuple[int, dict | None]]) -> Check:
    missing, wrong = [], []
    for attempt in observed.created():
        order_id = attempt.final.order_id
        status, body = fetched.get(order_id, (None, None))
        if status != 200 or not body or body.get("id") != order_id:
            missing.append(f"{order_id} ({status})")
        elif body.get("status") in NOT_PLACED or units_of(body, observed.product_id) != observed.quantity:
            wrong.append(f"{order_id} ({body.get('status')}, {units_of(body, observed.product_id)} unit(s))")
    problems = _problems(("not readable by its shopper", missing), ("not what was acknowledged", wrong))
    return Check("every 201 order exists", not problems,
                 "; ".join(problems) or f"{len(observed.created())} order(s) read back by their shoppers")


def check_listing(observed: Observed, listed: list[dict]) -> Check:
    """The seller's listing holds each order once; its placed orders are exactly the acknowledged ones."""
    ids = Counter(order.get("id") for order in listed)
    twice = [i for i, n in ids.items() if n > 1]
    placed = {o.get("id") for o in listed if o.get("status") not in NOT_PLACED}
    created = {a.final.order_id for a in observed.created()}
    lost, unacknowledged = created - placed, placed - created
    problems = _problems(("listed twice", twice), ("acknowledged but not listed", lost),
                         ("placed but never acknowledged", unacknowledged))
    return Check("seller's orders == acknowledged orders", not problems,
                 "; ".join(problems) or f"{len(placed)} placed and {len(ids) - len(placed)} rejected order(s) listed")


def held_units(observed: Observed, snapshot: Snapshot) -> tuple[int, int]:
    """Units the acknowledged orders hold now: (sure, sure + those mid-move)."""
    low = high = 0
    created = set()
    for attempt in observed.created():
        order_id = attempt.final.order_id
        created.add(order_id)
        status, body = snapshot.fetched.get(order_id, (None, None))
        intent = body.get("stock") if status == 200 and body else None
        units = units_of(body, observed.product_id)
        low += units if intent in HOLDING else 0
        high += units if intent in HOLDING | IN_MOTION else 0
    for order in snapshot.listed:  # a rejected order may still be letting a partial hold go
        if order.get("id") not in created and order.get("stock") in IN_MOTION:
            high += units_of(order, observed.product_id)
    return low, high


def released_units(observed: Observed, snapshot: Snapshot) -> int:
    """Units of acknowledged orders whose hold has been let go (expired, cancelled, payment failed)."""
    return sum(units_of(body, observed.product_id) for status, body in snapshot.fetched.values()
               if status == 200 and body and body.get("stock") == "released")


def evaluate(observed: Observed, snapshot: Snapshot) -> AuditReport:
    created = observed.created()
    low, high = held_units(observed, snapshot)
    return AuditReport((
        check_answered(observed.attempts),
        check_successes(len(created), len(observed.attempts), observed.stock, observed.quantity,
                        released_units(observed, snapshot)),
        check_conservation(snapshot.stock, observed.stock),
        check_held(snapshot.stock, low, high),
        check_orders_exist(observed, snapshot.fetched),
        check_one_order_per_key(observed.attempts),
        check_listing(observed, snapshot.listed),
    ))


# -- taking the snapshot ------------------------------------------------------------

def settled(snapshot: Snapshot) -> bool:
    """No order mid-move, and the listing (read before the stock) agrees with the reads after it."""
    listed = {o.get("id"): o.get("stock") for o in snapshot.listed}
    if any(intent in IN_MOTION for intent in listed.values()):
        return False
    for order_id, (status, body) in snapshot.fetched.items():
        if status == 200 and body and (body.get("stock") in IN_MOTION or listed.get(order_id, body.get("stock"))
                                       != body.get("stock")):
            return False
    return True


async def take_snapshot(observed: Observed, api: AuditApi, *, concurrency: int = 16) -> Snapshot:
    listed = await api.orders_with(observed.product_id)
    stock = await api.stock(observed.product_id)
    gate = asyncio.Semaphore(concurrency)

    async def read(attempt: Attempt) -> tuple[str, tuple[int, dict | None]]:
        async with gate:
            order_id = attempt.final.order_id
            return order_id, await api.order(order_id, observed.shopper_tokens[attempt.shopper])

    fetched = dict(await asyncio.gather(*(read(a) for a in observed.created())))
    return Snapshot(stock=stock, fetched=fetched, listed=listed)


async def audit(observed: Observed, api: AuditApi, *, tries: int = 5, pause_s: float = 1.0) -> AuditReport:
    """Snapshot until it is settled (at most `tries` times), then judge the last one."""
    snapshot = await take_snapshot(observed, api)
    for _ in range(tries - 1):
        if settled(snapshot):
            break
        await asyncio.sleep(pause_s)
        snapshot = await take_snapshot(observed, api)
    return evaluate(observed, snapshot)


__all__ = ["CREATED", "AuditApi", "AuditReport", "Check", "Snapshot", "audit", "evaluate"]
