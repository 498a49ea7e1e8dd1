"""The pure stock state of ONE product: the rules that keep invariant 1 (no oversell).

The ProductActor is the single writer for its SKU. For each batch it takes
``clone()``, applies every command to the clone, writes ``take_pending()``
plus the new counters to PostgreSQL in one transaction, and only after the
commit swaps the clone in; a failed commit simply drops the clone.

Why a mutable dataclass and not an immutable state with pure methods (as in
the Akka sample): a hot SKU in a flash sale holds thousands of reservations,
and copy-on-write per command would copy that dict once per command. A clone
writes its reservation changes into an overlay over the parent's dict (a
ChainMap), so cloning costs O(1) and a batch O(its changes); `adopt()` folds
the overlay into the parent after the commit. The clone gives the same
all-or-nothing guarantee: a failed batch just drops its overlay. Every rule validates before it mutates, so a
rejected command leaves the state, the pending movements and the pending
events exactly as they were.

No I/O here: stdlib and ``domain`` only, so unit tests drive it directly.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from domain.errors import Conflict, InvalidInput, NotFound

# Largest quantity one Reserve or Restock may carry.
MAX_QUANTITY = 10_000

ReservationStatus = Literal["held", "committed", "released"]


@dataclass(frozen=True)
class Reserve:
    order_id: str
    quantity: int
    hold_until: datetime | None = None
    shopper_id: str | None = None  # counts against a sale's per-shopper limit
    now: datetime | None = None  # checked against a sale's window


@dataclass(frozen=True)
class Sale:
    """A flash sale: a window, a price, and an optional per-shopper limit."""

    starts_at: datetime
    ends_at: datetime
    price: int
    currency: str
    per_shopper_limit: int | None = None

    def active_at(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class SetSale:
    sale: Sale


@dataclass(frozen=True)
class EndSale:
    now: datetime


@dataclass(frozen=True)
class Release:
    order_id: str
    reason: str = "released"


@dataclass(frozen=True)
class Commit:
    order_id: str


@dataclass(frozen=True)
class Restock:
    quantity: int
    restock_id: str


Command = Reserve | Release | Commit | Restock | SetSale | EndSale


@dataclass(frozen=True)
class Reservation:
    order_id: str
    quantity: int
    status: ReservationStatus
    hold_until: datetime | None
    shopper_id: str | None = None


@dataclass(frozen=True)
class Movement:
    """One stock-ledger row."""

    kind: Literal["reserve", "release", "commit", "return", "restock"]
    ref: str
    quantity: int


@dataclass(frozen=True)
class StockEvent:
    """A domain event for the outbox; the actor adds the envelope (id, sequence, time)."""

    type: Literal["STOCK_RESERVED", "STOCK_RELEASED"]
    data: dict


@dataclass(frozen=True)
class ReservationReply:
    order_id: str
    quantity: int
    status: ReservationStatus
    available: int


def _check_quantity(quantity: Any) -> int:
    # bool is an int subclass; True is not a quantity.
    if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"quantity must be an integer from 1 to {MAX_QUANTITY}",
                           code="invalid_quantity",
                           details={"quantity": quantity, "max": MAX_QUANTITY})
    return quantity


def _closed(order_id: str) -> Conflict:
    return Conflict("this reservation was already released", code="reservation_closed",
                    details={"order_id": order_id})


@dataclass
class StockState:
    product_id: str
    received: int = 0
    reserved: int = 0
    sold: int = 0
    version: int = 0
    reservations: MutableMapping[str, Reservation] = field(default_factory=dict)
    restock_ids: set[str] = field(default_factory=set)
    sale: Sale | None = None
    # Units each shopper holds or bought (not released): the per-shopper limit.
    shopper_units: MutableMapping[str, int] = field(default_factory=dict)
    sale_changed: bool = False
    pending_movements: list[Movement] = field(default_factory=list)
    pending_events: list[StockEvent] = field(default_factory=list)

    @property
    def available(self) -> int:
        return self.received - self.reserved - self.sold

    @classmethod
    def from_rows(cls, product_id: str, counters: dict, reservations: Iterable[dict],
                  restock_ids: Iterable[str], sale: Sale | None = None) -> StockState:
        """Rebuild the state from what the actor loaded from PostgreSQL on activation."""
        rows = [Reservation(r["order_id"], r["quantity"], r["status"], r.get("hold_until"), r.get("shopper_id"))
                for r in reservations]
        units: dict[str, int] = {}
        for r in rows:
            if r.shopper_id and r.status != "released":
                units[r.shopper_id] = units.get(r.shopper_id, 0) + r.quantity
        return cls(product_id, counters["received"], counters["reserved"], counters["sold"],
                   counters["version"], reservations={r.order_id: r for r in rows},
                   restock_ids=set(restock_ids), sale=sale, shopper_units=units)

    def clone(self) -> StockState:
        """A copy for one batch, with nothing pending. Its reservation writes go
        to an overlay; the parent must not change while the clone is in use.
        Reservation rows are frozen, so sharing them is safe."""
        return replace(self, reservations=ChainMap({}, self.reservations),
                       shopper_units=ChainMap({}, self.shopper_units), sale_changed=False,
                       restock_ids=set(self.restock_ids), pending_movements=[], pending_events=[])

    def adopt(self, parent: StockState) -> StockState:
        """After this clone's batch committed: fold its changes into the parent's
        reservation dict (no copy) and return the state to keep."""
        for name in ("reservations", "shopper_units"):
            overlay = getattr(self, name)
            if isinstance(overlay, ChainMap):
                base = getattr(parent, name)
                base.update(overlay.maps[0])
                setattr(self, name, base)
        self.sale_changed = False
        return self

    def snapshot(self) -> dict[str, int]:
        return {"received": self.received, "reserved": self.reserved, "sold": self.sold,
                "available": self.available, "version": self.version}

    def take_pending(self) -> tuple[list[Movement], list[StockEvent]]:
        """Hand the batch's ledger rows and outbox events to the writer, and forget them."""
        movements, events = self.pending_movements, self.pending_events
        self.pending_movements, self.pending_events = [], []
        return movements, events

    def apply(self, command: Command) -> ReservationReply | dict[str, int]:
        match command:
            case Reserve():
                return self._reserve(command)
            case Release():
                return self._release(command)
            case Commit():
                return self._commit(command)
            case Restock():
                return self._restock(command)
            case SetSale():
                return self._set_sale(command)
            case EndSale():
                return self._end_sale(command)
        raise TypeError(f"not a stock command: {command!r}")

    def check_invariants(self) -> None:
        """Invariant 1 plus agreement between the counters and the reservation rows.

        Raises AssertionError explicitly (not ``assert``) so it still checks under ``python -O``.
        """
        held = sum(r.quantity for r in self.reservations.values() if r.status == "held")
        committed = sum(
            r.quantity for r in self.reservations.values() if r.status == "committed")
        checks = {
            "reserved >= 0": self.reserved >= 0,
            "sold >= 0": self.sold >= 0,
            "available >= 0": self.available >= 0,
            "reserved + sold <= received": self.reserved + self.sold <= self.received,
            f"held rows ({held}) == reserved": held == self.reserved,
            f"committed rows ({committed}) == sold": committed == self.sold,
        }
        if broken := [name for name, ok in checks.items() if not ok]:
            raise AssertionError(f"{self.product_id}: {', '.join(broken)} fails; {self.snapshot()}")

    # -- rules: validate everything first, then mutate via _record ---------

    def _reserve(self, cmd: Reserve) -> ReservationReply:
        quantity = _check_quantity(cmd.quantity)
        existing = self.reservations.get(cmd.order_id)
        if existing is not None:
            if existing.status == "released":
                raise _closed(cmd.order_id)
            if existing.quantity != quantity:
                raise Conflict("the order already holds a different quantity",
                               code="reservation_mismatch",
                               details={"order_id": cmd.order_id, "held": existing.quantity,
                                        "requested": quantity})
            return self._reply(existing)  # a retried Reserve: same answer, nothing changes
        self._check_sale(cmd, quantity)
        if self.available < quantity:
            raise Conflict("not enough stock", code="out_of_stock",
                           details={"available": self.available, "requested": quantity})
        self.reserved += quantity
        if cmd.shopper_id:
            self.shopper_units[cmd.shopper_id] = self.shopper_units.get(cmd.shopper_id, 0) + quantity
        reservation = Reservation(cmd.order_id, quantity, "held", cmd.hold_until, cmd.shopper_id)
        self._record(reservation, Movement("reserve", cmd.order_id, quantity))
        self._emit("STOCK_RESERVED", cmd.order_id, quantity)
        return self._reply(reservation)

    def _release(self, cmd: Release) -> ReservationReply:
        existing = self.reservations.get(cmd.order_id)
        if existing is None:
            return ReservationReply(cmd.order_id, 0, "released", self.available)
        if existing.status == "released":
            return self._reply(existing)
        if existing.status == "held":
            self.reserved -= existing.quantity
            kind = "release"
        else:  # committed: a refund puts the sold units back on sale
            self.sold -= existing.quantity
            kind = "return"
        if existing.shopper_id:
            self.shopper_units[existing.shopper_id] = self.shopper_units.get(existing.shopper_id, 0) - existing.quantity
        released = replace(existing, status="released")
        self._record(released, Movement(kind, cmd.order_id, existing.quantity))
        self._emit("STOCK_RELEASED", cmd.order_id, existing.quantity, reason=cmd.reason)
        return self._reply(released)

    def _commit(self, cmd: Commit) -> ReservationReply:
        existing = self.reservations.get(cmd.order_id)
        if existing is None:
            raise NotFound("no reservation for this order", code="reservation_not_found",
                           details={"order_id": cmd.order_id})
        if existing.status == "released":
            raise _closed(cmd.order_id)
        if existing.status == "committed":
            return self._reply(existing)
        self.reserved -= existing.quantity
        self.sold += existing.quantity
        committed = replace(existing, status="committed")
        # No event: the order's ORDER_PAID already tells the world.
        self._record(committed, Movement("commit", cmd.order_id, existing.quantity))
        return self._reply(committed)

    def _restock(self, cmd: Restock) -> dict[str, int]:
        quantity = _check_quantity(cmd.quantity)
        if cmd.restock_id not in self.restock_ids:
            self.received += quantity
            self.restock_ids.add(cmd.restock_id)
            self._record(None, Movement("restock", cmd.restock_id, quantity))
        return self.snapshot()

    def _check_sale(self, cmd: Reserve, quantity: int) -> None:
        sale = self.sale
        if sale is None:
            return
        if cmd.now is None or not sale.active_at(cmd.now):
            raise Conflict("This product is only sold during its sale.", code="sale_not_active",
                           details={"starts_at": sale.starts_at.isoformat(), "ends_at": sale.ends_at.isoformat()})
        limit = sale.per_shopper_limit
        if limit and cmd.shopper_id:
            already = self.shopper_units.get(cmd.shopper_id, 0)
            if already + quantity > limit:
                raise Conflict(f"At most {limit} per shopper in this sale.", code="purchase_limit_exceeded",
                               details={"limit": limit, "already": already, "requested": quantity})

    def _set_sale(self, cmd: SetSale) -> dict:
        sale = cmd.sale
        if sale.ends_at <= sale.starts_at:
            raise InvalidInput("A sale must end after it starts.", code="invalid_sale_window")
        if sale.per_shopper_limit is not None and not 1 <= sale.per_shopper_limit <= MAX_QUANTITY:
            raise InvalidInput("The per-shopper limit must be between 1 and 10000.", code="invalid_quantity")
        if sale != self.sale:
            self.sale, self.sale_changed = sale, True
            self.version += 1
        return self.snapshot()

    def _end_sale(self, cmd: EndSale) -> dict:
        if self.sale is None:
            raise NotFound("This product has no sale.", code="sale_not_found")
        if self.sale.ends_at > cmd.now:
            self.sale, self.sale_changed = replace(self.sale, ends_at=max(cmd.now, self.sale.starts_at)), True
            self.version += 1
        return self.snapshot()

    def _record(self, reservation: Reservation | None, movement: Movement) -> None:
        """The one place a successful change is booked: row, ledger movement, version."""
        if reservation is not None:
            self.reservations[reservation.order_id] = reservation
        self.pending_movements.append(movement)
        self.version += 1

    def _emit(self, type_: Literal["STOCK_RESERVED", "STOCK_RELEASED"], order_id: str,
              quantity: int, **extra: Any) -> None:
        data = {"product_id": self.product_id, "order_id": order_id, "quantity": quantity,
                "available": self.available, **extra}
        self.pending_events.append(StockEvent(type_, data))

    def _reply(self, reservation: Reservation) -> ReservationReply:
        return ReservationReply(reservation.order_id, reservation.quantity, reservation.status,
                                self.available)
