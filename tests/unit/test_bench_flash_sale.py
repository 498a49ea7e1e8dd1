"""Pure parts of `commerce bench flash-sale`."""

from __future__ import annotations

from serve_app.bench.flash_sale import selling_phase_s


def test_the_selling_phase_runs_from_the_first_placed_order_to_the_last():
    placed = [{"created_at": "2026-11-30T10:41:09.500000+00:00"}, {"created_at": "2026-11-30T10:41:15.250000+00:00"},
              {"created_at": "2026-11-30T10:41:12.000000+00:00"}]
    assert selling_phase_s(placed) == 5.75
    assert selling_phase_s(placed[:1]) is None  # one sale: no phase to speak of
