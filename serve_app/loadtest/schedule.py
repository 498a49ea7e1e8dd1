"""When requests are due (no I/O).

Open model: request i is due at i / rate seconds after the start, whether or
not earlier ones have been answered. Latency is measured from that due time,
not from when the client got round to sending, so a stalled server shows up
as latency instead of as requests never sent (coordinated omission).
"""

from __future__ import annotations

import math


def open_schedule(rate: float, count: int, duration_s: float) -> list[float]:
    """Due times (seconds from the start) of at most `count` requests at `rate`/s within `duration_s`."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    if count <= 0 or duration_s <= 0:
        return []
    within = math.ceil(duration_s * rate - 1e-9)  # i / rate < duration_s
    return [i / rate for i in range(min(count, within))]


def lateness(due_s: float, sent_s: float) -> float:
    """How far behind schedule a send was (never negative)."""
    return max(0.0, sent_s - due_s)


def bucket_width(elapsed_s: float, *, max_buckets: int = 60, min_width_s: float = 0.25) -> float:
    """A round bucket width giving at most `max_buckets` points over the run."""
    for width in (0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300):
        if width >= min_width_s and elapsed_s / width <= max_buckets:
            return float(width)
    return math.ceil(elapsed_s / max_buckets)
