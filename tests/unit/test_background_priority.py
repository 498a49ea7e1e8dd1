"""Event workers and the outbox relay lower their own CPU priority by `background_niceness`."""

from __future__ import annotations

import multiprocessing
import os

from config import Settings
from serve_app.deployments import run_in_background


def _niceness_after(settings: Settings, result) -> None:
    run_in_background(settings)
    result.put(os.nice(0))


def _run_in_child(settings: Settings) -> int:
    # In a child process: a lowered priority cannot be raised again without privileges.
    context = multiprocessing.get_context("spawn")
    result = context.Queue()
    child = context.Process(target=_niceness_after, args=(settings, result))
    child.start()
    child.join(60)
    return result.get(timeout=5)


def test_background_replicas_run_nicer_by_the_setting(tmp_path):
    base = os.nice(0)
    assert _run_in_child(Settings(state_dir=tmp_path, background_niceness=3)) == min(19, base + 3)
    assert _run_in_child(Settings(state_dir=tmp_path, background_niceness=0)) == base
