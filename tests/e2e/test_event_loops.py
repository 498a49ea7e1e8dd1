"""Which event loop each kind of Ray process gets (README, "The ceiling's own tail").

On uvloop, connections opened to an already busy ingress waited seconds for
their first answer; on asyncio's own loop they wait like any other request.
The ingress replicas therefore start with RAY_USE_UVLOOP=0, and the shards,
which would otherwise inherit it from whichever process created them, with
RAY_USE_UVLOOP=1. Ray reads the variable when a worker process starts, so the
live processes' environments are what is checked.
"""

from __future__ import annotations

from pathlib import Path

import ray._private.state

from actors.runtime.client import ActorClient
from serve_app import serve_hooks


def _environment(pid: int) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    return dict(entry.split("=", 1) for entry in entries if "=" in entry)


def _ingress_pids() -> list[int]:
    # The GCS's actor table: ray.util.state would need the dashboard, which is off.
    pids = [
        actor["Pid"] for actor in ray._private.state.actors().values()
        if actor["ActorClassName"] == "ServeReplica:commerce:Ingress" and actor["State"] == "ALIVE"
    ]
    assert pids
    return pids


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
