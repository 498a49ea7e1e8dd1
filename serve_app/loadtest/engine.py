"""Driving attempts: a closed model (N workers) or an open model (R per second).

Both are bounded by a count and a duration. The engine stamps each attempt
with its due time and its finish time (seconds from the start); the job does
the tries. In the closed model an attempt is due when a worker takes it; in
the open model when the schedule says, so time spent waiting for a free
connection or behind a slow server is latency, not silence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from serve_app.loadtest.model import Attempt, Try
from serve_app.loadtest.schedule import open_schedule

Job = Callable[[Attempt], Awaitable[None]]
NewAttempt = Callable[[int], Attempt]
OnDone = Callable[[Attempt], None]


@dataclass
class Run:
    attempts: list[Attempt]
    elapsed_s: float
    started_at: float  # wall clock (epoch seconds) at the start


async def _do(job: Job, attempt: Attempt, t0: float, loop: asyncio.AbstractEventLoop) -> Attempt:
    try:
        await job(attempt)
    except Exception as exc:  # a bug in the job must not stop the run; it shows as an unresolved attempt
        attempt.tries.append(Try(None, type(exc).__name__))
    attempt.finished_s = loop.time() - t0
    return attempt


async def closed_loop(job: Job, new_attempt: NewAttempt, *, concurrency: int, count: int, duration_s: float,
                      on_done: OnDone = lambda a: None) -> Run:
    loop = asyncio.get_running_loop()
    attempts: list[Attempt] = []
    next_index = 0
    started_at, t0 = time.time(), loop.time()
    deadline = t0 + duration_s

    async def worker() -> None:
        nonlocal next_index
        while next_index < count and loop.time() < deadline:
            attempt = new_attempt(next_index)
            next_index += 1
            attempt.intended_s = loop.time() - t0
            attempts.append(await _do(job, attempt, t0, loop))
            on_done(attempt)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(sorted(attempts, key=lambda a: a.index), loop.time() - t0, started_at)


async def open_loop(job: Job, new_attempt: NewAttempt, *, rate: float, count: int, duration_s: float,
                    max_in_flight: int = 10_000, on_done: OnDone = lambda a: None) -> Run:
    """Send attempt i at i / rate; at most `max_in_flight` at once (a bound on memory, not on latency)."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(max_in_flight)
    tasks: list[asyncio.Task] = []
    started_at, t0 = time.time(), loop.time()

    async def run_one(attempt: Attempt) -> Attempt:
        try:
            return await _do(job, attempt, t0, loop)
        finally:
            gate.release()
            on_done(attempt)

    for index, due in enumerate(open_schedule(rate, count, duration_s)):
        delay = t0 + due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await gate.acquire()
        attempt = new_attempt(index)
        attempt.intended_s = due
        tasks.append(asyncio.create_task(run_one(attempt)))
    attempts = list(await asyncio.gather(*tasks))
    return Run(attempts, loop.time() - t0, started_at)
