"""The load tester's pure parts: the open-model schedule, percentiles, figures, the drivers' timing."""

from __future__ import annotations

import asyncio

import pytest

from serve_app.loadtest.engine import closed_loop, open_loop
from serve_app.loadtest.model import Attempt, Try
from serve_app.loadtest.schedule import bucket_width, lateness, open_schedule
from serve_app.loadtest.stats import error_breakdown, histogram_of, percentiles_ms, summarize, timeline


def test_open_schedule_spaces_requests_evenly_and_stops_at_count_or_duration():
    assert open_schedule(4, 100, 1.0) == [0.0, 0.25, 0.5, 0.75]
    assert open_schedule(1000, 3, 60) == [0.0, 0.001, 0.002]
    assert len(open_schedule(200, 10_000, 2.5)) == 500
    assert open_schedule(10, 0, 5) == [] and open_schedule(10, 5, 0) == []
    with pytest.raises(ValueError):
        open_schedule(0, 10, 1)


def test_lateness_is_never_negative():
    assert lateness(1.0, 1.25) == 0.25
    assert lateness(1.0, 0.5) == 0.0


def test_bucket_width_keeps_the_timeline_short():
    assert bucket_width(2.0) == 0.25
    assert bucket_width(30) == 0.5
    assert bucket_width(300) == 5
    assert 7200 / bucket_width(7200) <= 60


def test_percentiles_come_from_the_histogram_in_milliseconds():
    histogram = histogram_of([i / 1000 for i in range(1, 1001)])  # 1 ms .. 1000 ms, once each
    figures = percentiles_ms(histogram)
    assert set(figures) == {"p50", "p90", "p99", "p99.9", "max"}
    for key, expected in (("p50", 500), ("p90", 900), ("p99", 990), ("p99.9", 999), ("max", 1000)):
        assert figures[key] == pytest.approx(expected, rel=0.002), key
    assert percentiles_ms(histogram_of([]))["p99"] == 0


def attempt(i: int, *answers: Try, start: float = 0.0, end: float = 0.01) -> Attempt:
    return Attempt(i, f"k{i}", 0, intended_s=start, finished_s=end, tries=list(answers))


def test_summary_counts_201s_and_409s_as_served_and_breaks_errors_down():
    attempts = [
        attempt(0, Try(201, None, "o0"), end=0.010),
        attempt(1, Try(None, "timeout"), Try(201, None, "o1"), end=0.500),
        attempt(2, Try(409, "out_of_stock", "o2"), end=0.020),
        attempt(3, Try(503, "unavailable"), Try(503, "unavailable")),
        attempt(4, Try(422, "validation_error")),
    ]
    figures = summarize(attempts, elapsed_s=2.0)
    assert (figures["created"], figures["out_of_stock"], figures["unresolved"]) == (2, 1, 2)
    assert figures["served_rps"] == 1.5
    assert figures["retried_attempts"] == 2
    assert figures["latency_ms"]["max"] == pytest.approx(500, rel=0.002)  # the retried one, end to end
    assert error_breakdown(attempts) == {
        "final": {"201": 2, "409 out_of_stock": 1, "503 unavailable": 1, "422 validation_error": 1},
        "all_tries": {"201": 2, "503 unavailable": 2, "timeout": 1, "409 out_of_stock": 1, "422 validation_error": 1},
    }


def test_timeline_buckets_by_finish_time():
    attempts = [attempt(i, Try(201, None, f"o{i}"), start=i * 0.1, end=i * 0.1 + 0.05) for i in range(10)]
    rows = timeline(attempts, elapsed_s=1.0)
    assert [row["t_s"] for row in rows] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert sum(row["created_per_s"] * 0.25 for row in rows) == pytest.approx(10)
    assert rows[-1]["p50_ms"] is None and rows[0]["p50_ms"] == pytest.approx(50, rel=0.01)


def new_attempt(i: int) -> Attempt:
    return Attempt(i, f"k{i}", 0)


async def answer_after(seconds: float, attempt: Attempt) -> None:
    await asyncio.sleep(seconds)
    attempt.tries.append(Try(201, None, f"o{attempt.index}"))


async def test_closed_loop_is_bounded_by_count_and_by_duration():
    run = await closed_loop(lambda a: answer_after(0.001, a), new_attempt, concurrency=4, count=20, duration_s=30)
    assert [a.index for a in run.attempts] == list(range(20))
    assert all(a.finished_s >= a.intended_s for a in run.attempts)
    run = await closed_loop(lambda a: answer_after(0.05, a), new_attempt, concurrency=2, count=10_000, duration_s=0.2)
    assert 4 <= len(run.attempts) <= 12 and run.elapsed_s < 1


async def test_open_loop_measures_latency_from_the_intended_send_time():
    # One request at a time against a server taking 50 ms, due every 10 ms: requests queue,
    # and the latency must show the queueing (coordinated omission corrected), not just 50 ms.
    run = await open_loop(lambda a: answer_after(0.05, a), new_attempt, rate=100, count=10, duration_s=5,
                          max_in_flight=1)
    assert [a.intended_s for a in run.attempts] == pytest.approx([i / 100 for i in range(10)])
    latencies = [a.latency_s for a in run.attempts]
    assert latencies[0] == pytest.approx(0.05, abs=0.03)
    assert latencies[-1] > 0.4  # the tenth waited for nine before it


async def test_a_failing_job_becomes_an_unresolved_attempt():
    async def broken(a: Attempt) -> None:
        raise RuntimeError("bug")

    run = await closed_loop(broken, new_attempt, concurrency=1, count=2, duration_s=5)
    assert [a.final.label for a in run.attempts] == ["RuntimeError", "RuntimeError"]
