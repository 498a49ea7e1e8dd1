"""Event workers and the outbox relay lower their own CPU priority by `background_niceness`,
and run under SCHED_IDLE with `background_idle_policy`."""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading

from config import Settings
from serve_app.deployments import run_in_background


def _priority() -> tuple[int, int]:
    """This thread's own niceness and scheduling policy, on Linux."""
    return os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0)


def _niceness_after(settings: Settings, result) -> None:
    """The priority of the calling thread and of a thread started before the call."""
    asked, answered = threading.Event(), queue.Queue()

    def other_thread() -> None:
        asked.wait()
        answered.put(_priority())

    thread = threading.Thread(target=other_thread)
    thread.start()
    run_in_background(settings)
    asked.set()
    result.put((_priority(), answered.get(timeout=10)))
    thread.join()


def _run_in_child(settings: Settings) -> int:
    # In a child process: a lowered priority cannot be raised again without privileges.
    context = multiprocessing.get_context("spawn")
    result = context.Queue()
    child = context.Process(target=_niceness_after, args=(settings, result))
    child.start()
    child.join(60)
    return result.get(timeout=5)


def test_background_replicas_run_nicer_by_the_setting_on_every_thread(tmp_path):
    """Every thread: a Ray replica runs its loops on other threads than the one that builds it."""
    base, policy = os.nice(0), os.sched_getscheduler(0)
    nicer = min(19, base + 3)
    plain = {"state_dir": tmp_path, "background_idle_policy": False}
    assert _run_in_child(Settings(**plain, background_niceness=3)) == ((nicer, policy),) * 2
    assert _run_in_child(Settings(**plain, background_niceness=0)) == ((base, policy),) * 2


def test_background_replicas_take_the_idle_policy_on_every_thread(tmp_path):
    assert Settings(state_dir=tmp_path).background_idle_policy  # the default
    idle = Settings(state_dir=tmp_path, background_niceness=0)
    assert _run_in_child(idle) == ((os.nice(0), os.SCHED_IDLE),) * 2
