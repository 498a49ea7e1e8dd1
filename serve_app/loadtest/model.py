"""What a load run observed, attempt by attempt (no I/O).

An attempt is one logical checkout with its own Idempotency-Key; it may take
several tries (a timeout or a 503 is retried with the SAME key). Its latency
runs from the intended send time of the first try to the last answer, so
retries and, in the open model, queueing behind a slow server both count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CREATED = "created"
OUT_OF_STOCK = "out_of_stock"
UNRESOLVED = "unresolved"


@dataclass(frozen=True)
class Try:
    """One HTTP exchange. `status` is None when no answer came (timeout, reset)."""

    status: int | None
    code: str | None = None  # the error body's code, or a transport error's name
    order_id: str | None = None

    @property
    def label(self) -> str:
        if self.status is None:
            return self.code or "no_answer"
        return f"{self.status} {self.code}" if self.code else str(self.status)


@dataclass
class Attempt:
    index: int
    key: str
    shopper: int  # index into the run's shopper tokens
    intended_s: float = 0.0  # when the first try was due, seconds from the run's start
    finished_s: float = 0.0
    tries: list[Try] = field(default_factory=list)

    @property
    def final(self) -> Try | None:
        return self.tries[-1] if self.tries else None

    @property
    def outcome(self) -> str:
        final = self.final
        if final is not None and final.status == 201 and final.order_id:
            return CREATED
        if final is not None and final.status == 409 and final.code == OUT_OF_STOCK:
            return OUT_OF_STOCK
        return UNRESOLVED

    @property
    def served(self) -> bool:
        """Answered for good (a 409 out_of_stock is a served request too)."""
        return self.outcome != UNRESOLVED

    @property
    def order_ids(self) -> set[str]:
        """Every order id any try of this key was answered with: must be at most one."""
        return {t.order_id for t in self.tries if t.order_id}

    @property
    def latency_s(self) -> float:
        return max(0.0, self.finished_s - self.intended_s)


@dataclass
class Observed:
    """A finished run: the hot product, the tokens used, every attempt."""

    product_id: str
    stock: int  # units the product was created with
    quantity: int  # units per checkout
    shopper_tokens: list[str]
    attempts: list[Attempt]
    elapsed_s: float = 0.0

    def created(self) -> list[Attempt]:
        return [a for a in self.attempts if a.outcome == CREATED]
