"""The pure state of ONE order, owned by its OrderActor (no I/O).

Status moves come from the table in `state.py`; this module adds what an
order holds (lines, totals, hold expiry) and the durable intent about its
stock (`stock`): "reserving" while a checkout reserves its lines,
"releasing"/"committing" when a move demands it, "released"/"committed" once
the ProductActors confirmed. The actor derives its timers and effects from
that intent, so a restarted shard resumes exactly what was left undone.

Commands that come from workers (paid, shipped, ...) carry a reference (a
payment or event id) and are applied once per reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from actors.orders.state import OrderStatus, OrderTrigger, next_status, releases_stock, needs_refund
from domain.errors import Conflict, DomainError, NotFound

StockIntent = Literal["none", "reserving", "held", "releasing", "released", "committing", "committed"]


@dataclass(frozen=True)
class Line:
    product_id: str
    seller_id: str
    sku: str
    name: str
    quantity: int
    unit_price: int  # minor units, in the order's currency

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Totals:
    currency: str
    subtotal: int
    shipping: int
    total: int


# -- commands ------------------------------------------------------------------

@dataclass(frozen=True)
class Open:
    user_id: str
    lines: tuple[Line, ...]
    totals: Totals
    shipping_address: dict | None
    now: datetime
    request_hash: str | None = None  # of the checkout request, when it carried an Idempotency-Key


@dataclass(frozen=True)
class ReservationSucceeded:
    expires_at: datetime


@dataclass(frozen=True)
class ReservationFailed:
    short_items: tuple[dict, ...]


@dataclass(frozen=True)
class Cancel:
    reason: str = "cancelled by the shopper"


@dataclass(frozen=True)
class Paid:
    payment_id: str


@dataclass(frozen=True)
class PaymentFailed:
    payment_id: str


@dataclass(frozen=True)
class Advance:
    """A fulfilment step reported by a worker: START_FULFILMENT, SHIP, DELIVER, COMPLETE."""

    trigger: OrderTrigger
    ref: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StockSettled:
    outcome: Literal["released", "committed"]


@dataclass(frozen=True)
class Expire:
    now: datetime


@dataclass(frozen=True)
class Redrive:
    """The checkout that opened this order stopped answering: finish it here."""


# -- state -----------------------------------------------------------------------

@dataclass
class OrderState:
    id: str
    user_id: str | None = None
    status: OrderStatus | None = None  # None: not opened yet
    stock: StockIntent = "none"
    lines: tuple[Line, ...] = ()
    totals: Totals | None = None
    shipping_address: dict | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    short_items: tuple[dict, ...] = ()
    cancel_reason: str | None = None
    refund_requested: bool = False
    applied_refs: frozenset[str] = frozenset()
    request_hash: str | None = None
    version: int = 0
    redriving: bool = False  # in memory only: a recovery re-drive is under way
    pending_events: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.status is not None

    def clone(self) -> OrderState:
        return replace(self, pending_events=[])

    def take_events(self) -> list[tuple[str, dict]]:
        events, self.pending_events = self.pending_events, []
        return events

    def apply(self, command: Any) -> dict:
        """Apply one command; return the order's public view (or raise a DomainError)."""
        if isinstance(command, Open):
            self._open(command)
            return self.public()
        if not self.exists:
            raise NotFound("No such order.", code="order_not_found")
        handler = _HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"not an order command: {command!r}")
        handler(self, command)
        return self.public()

    # -- handlers --------------------------------------------------------------

    def _open(self, cmd: Open) -> None:
        if self.exists:
            if self.user_id != cmd.user_id:
                raise Conflict("This order id is taken.", code="order_exists")
            if self.request_hash != cmd.request_hash:
                raise Conflict("This Idempotency-Key was used with another request.", code="idempotency_key_reused")
            if self.turned_away:
                # Admission control turned the first try away and reserved nothing:
                # the same key may try again (with the first request's lines).
                self.status, self.stock, self.short_items, self.created_at = (
                    OrderStatus.PENDING, "reserving", (), cmd.now)
                self._bump()
            return  # otherwise a repeat: the order as it stands is the answer
        self.user_id, self.lines, self.totals = cmd.user_id, cmd.lines, cmd.totals
        self.shipping_address, self.created_at, self.request_hash = cmd.shipping_address, cmd.now, cmd.request_hash
        self.status, self.stock = OrderStatus.PENDING, "reserving"
        self._bump()

    @property
    def turned_away(self) -> bool:
        """Rejected only because a product's queue was full (HTTP 429)."""
        return self.status == OrderStatus.REJECTED and any(i.get("reason") == "busy" for i in self.short_items)

    def _reservation_succeeded(self, cmd: ReservationSucceeded) -> None:
        if self.status == OrderStatus.AWAITING_PAYMENT:
            return
        self.status = next_status(self.status, OrderTrigger.RESERVED)
        self.stock, self.expires_at, self.redriving = "held", cmd.expires_at, False
        self._bump()
        self._emit("ORDER_PLACED", {
            "user_id": self.user_id, "items": [line_public(line, self.totals.currency) for line in self.lines],
            "totals": totals_public(self.totals), "expires_at": self.expires_at.isoformat(),
        })

    def _reservation_failed(self, cmd: ReservationFailed) -> None:
        if self.status == OrderStatus.REJECTED:
            return
        self.status = next_status(self.status, OrderTrigger.REJECTED)
        # Whatever was reserved was released by the checkout; "released" is the outcome.
        self.stock, self.short_items, self.redriving = "released", cmd.short_items, False
        self._bump()

    def _expire(self, cmd: Expire) -> None:
        if self.status != OrderStatus.AWAITING_PAYMENT or self.expires_at is None or cmd.now < self.expires_at:
            return  # paid, cancelled, or an early timer: nothing to do
        self._move(OrderTrigger.EXPIRE, "ORDER_EXPIRED", {"expired_at": self.expires_at.isoformat()})

    def _cancel(self, cmd: Cancel) -> None:
        refund = needs_refund(self.status, OrderTrigger.CANCEL)
        self._move(OrderTrigger.CANCEL, "ORDER_CANCELLED", {"reason": cmd.reason, "refund": refund})
        self.cancel_reason, self.refund_requested = cmd.reason, refund

    def _paid(self, cmd: Paid) -> None:
        if self._seen(cmd.payment_id):
            return
        self._move(OrderTrigger.PAID, "ORDER_PAID", {"payment_id": cmd.payment_id, "totals": totals_public(self.totals)})
        self.applied_refs = self.applied_refs | {cmd.payment_id}

    def _payment_failed(self, cmd: PaymentFailed) -> None:
        if self._seen(cmd.payment_id):
            return
        self._move(OrderTrigger.PAYMENT_FAILED, None, {})
        self.applied_refs = self.applied_refs | {cmd.payment_id}

    def _advance(self, cmd: Advance) -> None:
        if self._seen(cmd.ref):
            return
        event = "ORDER_COMPLETED" if cmd.trigger == OrderTrigger.COMPLETE else None
        self._move(cmd.trigger, event, cmd.data)
        self.applied_refs = self.applied_refs | {cmd.ref}

    def _stock_settled(self, cmd: StockSettled) -> None:
        expected = {"released": "releasing", "committed": "committing"}[cmd.outcome]
        if self.stock == expected:
            self.stock = cmd.outcome
            self._bump()

    def _redrive(self, cmd: Redrive) -> None:
        if self.status == OrderStatus.PENDING:
            self.redriving = True  # the effect does the work; nothing to persist

    # -- helpers ------------------------------------------------------------------

    def _move(self, trigger: OrderTrigger, event: str | None, data: dict) -> None:
        before = self.status
        self.status = next_status(before, trigger)
        if releases_stock(before, trigger) or needs_refund(before, trigger):
            self.stock = "releasing"  # held stock goes back; sold stock is returned
        elif trigger == OrderTrigger.PAID:
            self.stock = "committing"
        self._bump()
        if event:
            self._emit(event, data)

    def _seen(self, ref: str) -> bool:
        return ref in self.applied_refs

    def _bump(self) -> None:
        self.version += 1

    def _emit(self, type_: str, data: dict) -> None:
        self.pending_events.append((type_, {"order_id": self.id, "status": str(self.status), **data}))

    # -- what the actor derives from the state ------------------------------------

    def due_timers(self, recovery_grace: timedelta) -> dict[str, datetime]:
        if self.status == OrderStatus.AWAITING_PAYMENT and self.expires_at:
            return {"expire": self.expires_at}
        if self.status == OrderStatus.PENDING and self.created_at and not self.redriving:
            return {"redrive": self.created_at + recovery_grace}
        return {}

    def public(self) -> dict:
        currency = self.totals.currency if self.totals else None
        return {
            "id": self.id,
            "user_id": self.user_id,
            "status": str(self.status) if self.status else None,
            "items": [line_public(line, currency) for line in self.lines],
            "totals": totals_public(self.totals) if self.totals else None,
            "shipping_address": self.shipping_address,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "short_items": list(self.short_items),
            "cancel_reason": self.cancel_reason,
            "refund_requested": self.refund_requested,
            "stock": self.stock,
        }


def money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def line_public(line: Line, currency: str) -> dict:
    return {
        "product_id": line.product_id, "seller_id": line.seller_id, "sku": line.sku, "name": line.name,
        "quantity": line.quantity, "unit_price": money(line.unit_price, currency),
        "line_total": money(line.total, currency),
    }


def totals_public(totals: Totals) -> dict:
    return {
        "subtotal": money(totals.subtotal, totals.currency), "shipping": money(totals.shipping, totals.currency),
        "total": money(totals.total, totals.currency),
    }


_HANDLERS = {
    ReservationSucceeded: OrderState._reservation_succeeded,
    ReservationFailed: OrderState._reservation_failed,
    Expire: OrderState._expire,
    Cancel: OrderState._cancel,
    Paid: OrderState._paid,
    PaymentFailed: OrderState._payment_failed,
    Advance: OrderState._advance,
    StockSettled: OrderState._stock_settled,
    Redrive: OrderState._redrive,
}


def short_item(line: Line, refusal: DomainError) -> dict:
    """What a rejected order and its 409 say about a line a product refused."""
    return {
        "product_id": line.product_id, "sku": line.sku, "requested": line.quantity,
        "available": refusal.details.get("available", 0), "reason": refusal.code,
    }


def lines_from_public(view: dict) -> tuple[Line, ...]:
    """The lines of an order's public view (to resume an interrupted checkout)."""
    return tuple(
        Line(item["product_id"], item["seller_id"], item["sku"], item["name"], item["quantity"],
             item["unit_price"]["amount"])
        for item in view["items"]
    )
