"""The pure stock rules of one product: no oversell, idempotent replays, clean rejections."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from actors.inventory.state import (MAX_QUANTITY, Commit, Movement, Release, Reservation,
                                    ReservationReply, Reserve, Restock, StockEvent, StockState)
from domain.errors import Conflict, DomainError, InvalidInput, NotFound

HOLD = datetime(2030, 1, 1, tzinfo=UTC)


def stocked(received: int = 10, product_id: str = "p-1") -> StockState:
    state = StockState(product_id)
    for i, start in enumerate(range(0, received, MAX_QUANTITY)):
        state.apply(Restock(min(MAX_QUANTITY, received - start), f"initial-{i}"))
    state.take_pending()
    return state


def fingerprint(state: StockState):
    return (state.snapshot(), dict(state.reservations), set(state.restock_ids),
            list(state.pending_movements), list(state.pending_events))


def rejected(state: StockState, command, error: type[DomainError], code: str) -> DomainError:
    """Apply a command that must fail, and prove it changed nothing."""
    before = fingerprint(state)
    with pytest.raises(error) as info:
        state.apply(command)
    assert info.value.code == code
    assert fingerprint(state) == before
    return info.value


# -- Reserve ---------------------------------------------------------------

def test_reserve_holds_stock_and_records_movement_and_event():
    state = stocked(10)
    reply = state.apply(Reserve("o-1", 3, HOLD))
    assert reply == ReservationReply("o-1", 3, "held", 7)
    assert state.snapshot() == {"received": 10, "reserved": 3, "sold": 0, "available": 7,
                                "version": 2}
    assert state.reservations["o-1"] == Reservation("o-1", 3, "held", HOLD)
    assert state.take_pending() == (
        [Movement("reserve", "o-1", 3)],
        [StockEvent("STOCK_RESERVED",
                    {"product_id": "p-1", "order_id": "o-1", "quantity": 3, "available": 7})],
    )
    assert state.pending_movements == [] and state.pending_events == []
    state.check_invariants()


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1, True, 1.0, "1", None])
def test_reserve_rejects_bad_quantities(quantity):
    state = stocked(2 * MAX_QUANTITY)  # plenty: only the quantity rule can refuse
    rejected(state, Reserve("o-1", quantity), InvalidInput, "invalid_quantity")


def test_reserve_and_restock_accept_the_maximum():
    state = stocked(MAX_QUANTITY)  # one Restock of MAX_QUANTITY
    assert state.apply(Reserve("o-1", MAX_QUANTITY)).available == 0


def test_reserve_out_of_stock_reports_what_is_left():
    state = stocked(2)
    error = rejected(state, Reserve("o-1", 3), Conflict, "out_of_stock")
    assert error.details == {"available": 2, "requested": 3}


@pytest.mark.parametrize(("then_commit", "status"), [(False, "held"), (True, "committed")])
def test_reserve_replay_returns_same_reply_and_changes_nothing(then_commit, status):
    state = stocked(10)
    state.apply(Reserve("o-1", 4))
    if then_commit:
        state.apply(Commit("o-1"))
    state.take_pending()
    before = fingerprint(state)
    assert state.apply(Reserve("o-1", 4)) == ReservationReply("o-1", 4, status, 6)
    assert fingerprint(state) == before


def test_reserve_with_other_quantity_is_a_mismatch():
    state = stocked(10)
    state.apply(Reserve("o-1", 4))
    rejected(state, Reserve("o-1", 5), Conflict, "reservation_mismatch")


def test_reserve_after_release_is_closed():
    state = stocked(10)
    state.apply(Reserve("o-1", 4))
    state.apply(Release("o-1"))
    rejected(state, Reserve("o-1", 4), Conflict, "reservation_closed")


def test_flash_sale_never_oversells():
    state = stocked(100)
    won = 0
    for i in range(150):
        try:
            state.apply(Reserve(f"o-{i}", 1))
            won += 1
        except Conflict as error:
            assert error.code == "out_of_stock"
        state.check_invariants()
    assert won == 100
    assert state.available == 0 and state.reserved == 100
    assert len(state.pending_movements) == len(state.pending_events) == 100


# -- Release ---------------------------------------------------------------

def test_release_of_held_returns_it_to_available():
    state = stocked(10)
    state.apply(Reserve("o-1", 4))
    state.take_pending()
    reply = state.apply(Release("o-1", reason="expired"))
    assert reply == ReservationReply("o-1", 4, "released", 10)
    assert (state.reserved, state.sold, state.version) == (0, 0, 3)
    assert state.reservations["o-1"].status == "released"
    assert state.take_pending() == (
        [Movement("release", "o-1", 4)],
        [StockEvent("STOCK_RELEASED", {"product_id": "p-1", "order_id": "o-1", "quantity": 4,
                                       "available": 10, "reason": "expired"})],
    )
    state.check_invariants()


def test_release_of_committed_puts_stock_back_on_sale():
    state = stocked(10)
    state.apply(Reserve("o-1", 4))
    state.apply(Commit("o-1"))
    state.take_pending()
    reply = state.apply(Release("o-1", reason="refunded"))
    assert reply == ReservationReply("o-1", 4, "released", 10)
    assert (state.reserved, state.sold, state.available) == (0, 0, 10)
    movements, events = state.take_pending()
    assert movements == [Movement("return", "o-1", 4)]
    assert [(e.type, e.data["reason"]) for e in events] == [("STOCK_RELEASED", "refunded")]
    state.check_invariants()


def test_release_of_unknown_or_released_order_is_a_no_op():
    state = stocked(10)
    before = fingerprint(state)
    assert state.apply(Release("ghost")) == ReservationReply("ghost", 0, "released", 10)
    assert fingerprint(state) == before
    state.apply(Reserve("o-1", 4))
    state.apply(Release("o-1"))
    before = fingerprint(state)
    assert state.apply(Release("o-1")) == ReservationReply("o-1", 4, "released", 10)
    assert fingerprint(state) == before


# -- Commit ----------------------------------------------------------------

def test_commit_moves_held_to_sold_without_an_event():
    state = stocked(10)
    state.apply(Reserve("o-1", 4))
    state.take_pending()
    assert state.apply(Commit("o-1")) == ReservationReply("o-1", 4, "committed", 6)
    assert (state.reserved, state.sold, state.version) == (0, 4, 3)
    assert state.take_pending() == ([Movement("commit", "o-1", 4)], [])
    before = fingerprint(state)
    assert state.apply(Commit("o-1")) == ReservationReply("o-1", 4, "committed", 6)
    assert fingerprint(state) == before
    state.check_invariants()


def test_commit_of_released_or_unknown_is_refused():
    state = stocked(10)
    state.apply(Reserve("o-1", 4))
    state.apply(Release("o-1"))
    rejected(state, Commit("o-1"), Conflict, "reservation_closed")
    rejected(state, Commit("ghost"), NotFound, "reservation_not_found")


# -- Restock ---------------------------------------------------------------

def test_restock_adds_stock_once_per_restock_id():
    state = StockState("p-1")
    expected = {"received": 5, "reserved": 0, "sold": 0, "available": 5, "version": 1}
    assert state.apply(Restock(5, "r-1")) == expected
    assert state.take_pending() == ([Movement("restock", "r-1", 5)], [])
    assert state.apply(Restock(5, "r-1")) == expected
    assert state.take_pending() == ([], [])


@pytest.mark.parametrize("quantity", [0, -3, MAX_QUANTITY + 1, False, 2.5])
def test_restock_rejects_bad_quantities(quantity):
    rejected(StockState("p-1"), Restock(quantity, "r-1"), InvalidInput, "invalid_quantity")


def test_unknown_command_is_a_programming_error():
    with pytest.raises(TypeError):
        StockState("p-1").apply("reserve please")


# -- clone, rows, invariants -------------------------------------------------

def test_clone_is_independent_and_starts_with_nothing_pending():
    original = stocked(10)
    original.apply(Reserve("o-1", 2))
    before = fingerprint(original)
    batch = original.clone()
    assert batch.snapshot() == original.snapshot() and batch.pending_movements == []
    batch.apply(Reserve("o-2", 3))
    batch.apply(Release("o-1"))
    batch.apply(Restock(7, "r-2"))
    assert fingerprint(original) == before
    assert batch.reserved == 3 and "o-2" not in original.reservations


def test_from_rows_rebuilds_what_the_actor_persisted():
    state = stocked(10)
    state.apply(Reserve("o-1", 2, HOLD))
    state.apply(Reserve("o-2", 3))
    state.apply(Commit("o-2"))
    state.apply(Reserve("o-3", 1))
    state.apply(Release("o-3"))
    rows = [{"order_id": r.order_id, "quantity": r.quantity, "status": r.status,
             "hold_until": r.hold_until} for r in state.reservations.values()]
    loaded = StockState.from_rows("p-1", state.snapshot(), rows, state.restock_ids)
    assert fingerprint(loaded)[:3] == fingerprint(state)[:3]
    loaded.check_invariants()
    assert loaded.apply(Restock(10, "initial-0")) == loaded.snapshot()  # restock id remembered


@pytest.mark.parametrize("field, value", [
    ("reserved", -1), ("sold", -1), ("received", 1), ("reserved", 9), ("sold", 9),
])
def test_check_invariants_catches_broken_counters(field, value):
    state = stocked(10)
    state.apply(Reserve("o-1", 2))
    state.apply(Reserve("o-2", 3))
    state.apply(Commit("o-2"))
    state.check_invariants()
    setattr(state, field, value)
    with pytest.raises(AssertionError):
        state.check_invariants()


@pytest.mark.parametrize("seed", range(20))
def test_random_command_sequences_keep_invariants(seed):
    rng = random.Random(seed)
    state = StockState(f"p-{seed}")
    orders = [f"o-{i}" for i in range(12)]
    for _ in range(300):
        command = rng.choice([
            lambda: Reserve(rng.choice(orders), rng.choice([0, 1, 2, 5, 20])),
            lambda: Release(rng.choice(orders)),
            lambda: Commit(rng.choice(orders)),
            lambda: Restock(rng.choice([-1, 1, 3, 10]), f"r-{rng.randrange(8)}"),
        ])()
        before = fingerprint(state)
        try:
            state.apply(command)
        except DomainError:
            assert fingerprint(state) == before
        else:
            # one movement per version bump: a replay adds neither
            assert state.version - before[0]["version"] == (
                len(state.pending_movements) - len(before[3]))
        state.check_invariants()
        if rng.random() < 0.1:  # a batch boundary: either commit the clone or drop it
            batch = state.clone()
            batch.apply(Restock(1, f"batch-{rng.random()}"))
            if rng.random() < 0.5:
                state = batch
            state.take_pending()
