"""Which event loop each kind of Ray process gets (README, "The ceiling's own tail").

On uvloop, connections opened to an already busy ingress waited seconds for
their first answer; on asyncio's own loop they wait like any other request.
The ingress replicas therefore start with RAY_USE_UVLOOP=0, and the shards,
which would otherwise inherit it from whichever process created them, with
RAY_USE_UVLOOP=1. Ray reads the variable when a worker process starts, so the
live processes' environments are what is checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import ray._private.state

from actors.runtime.client import ActorClient
from serve_app import serve_hooks


def _environment(pid: int) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    return dict(entry.split("=", 1) for entry in entries if "=" in entry)


def _replica_pids(deployment: str) -> list[int]:
    # The GCS's actor table: ray.util.state would need the dashboard, which is off.
    pids = [
        actor["Pid"] for actor in ray._private.state.actors().values()
        if actor["ActorClassName"] == f"ServeReplica:commerce:{deployment}" and actor["State"] == "ALIVE"
    ]
    assert pids
    return pids


def _ingress_pids() -> list[int]:
    return _replica_pids("Ingress")


def _policies(pid: int) -> set[int]:
    """The scheduling policies of the process's threads."""
    policies = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            policies.add(os.sched_getscheduler(int(task.name)))
        except ProcessLookupError:  # the thread ended meanwhile
            continue
    return policies


def test_background_replicas_run_under_the_idle_policy_and_the_ingress_does_not(system):
    """`background_idle_policy` (on by default): the relay and the event workers get a core
    only when the checkout path does not want it."""
    assert system.settings.background_idle_policy
    for deployment in ("OutboxRelay", "Worker_notifications", "Worker_payments"):
        for pid in _replica_pids(deployment):
            assert _policies(pid) == {os.SCHED_IDLE}, deployment
    for pid in _ingress_pids():
        assert os.SCHED_IDLE not in _policies(pid)


def test_ingress_replicas_run_on_asyncio_own_loop(system):
    for pid in _ingress_pids():
        assert _environment(pid).get("RAY_USE_UVLOOP") == "0"


async def test_shards_keep_uvloop_whoever_creates_them(system):
    pings = await ActorClient(system.settings).ping_all(timeout_s=60)
    assert pings
    for ping in pings:
        assert _environment(ping["pid"]).get("RAY_USE_UVLOOP") == "1"


def test_ingress_replicas_load_the_serve_hooks(system):
    """Serve reads the hook's import path from the replica's environment when its
    direct-ingress server starts (serve_app/serve_hooks.py)."""
    for pid in _ingress_pids():
        path = _environment(pid).get("RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH")
        assert path == serve_hooks.IMPORT_PATH
