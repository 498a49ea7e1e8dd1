"""Connecting to NATS and declaring the COMMERCE stream."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client as NATS
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from events.envelope import STREAM_NAME, SUBJECT_PREFIX

log = logging.getLogger(__name__)

# Long enough to cover a relay that re-publishes after an outage of minutes;
# consumers' inbox tables cover anything older.
DUPLICATE_WINDOW_S = 15 * 60


def stream_config() -> StreamConfig:
    return StreamConfig(
        name=STREAM_NAME,
        subjects=[f"{SUBJECT_PREFIX}.>"],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
    )


async def ensure_stream(nc: NATS) -> None:
    """Create the stream, or bring an existing one to the current config."""
    js = nc.jetstream()
    config = stream_config()
    try:
        await js.stream_info(STREAM_NAME)
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


async def connect(url: str, *, name: str, connect_timeout_s: float = 2.0) -> NATS:
    """Connect once; afterwards the client reconnects forever on its own."""

    async def _error(exc: Exception) -> None:
        log.debug("nats %s: %s", name, exc)

    return await nats.connect(
        servers=url.split(","),
        name=name,
        connect_timeout=connect_timeout_s,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        error_cb=_error,
    )


async def connect_with_retry(url: str, *, name: str, stop: asyncio.Event, max_delay_s: float = 5.0) -> NATS | None:
    """Keep trying until connected or stopped (the first connect does not retry by itself)."""
    delay = 0.1
    while not stop.is_set():
        try:
            return await connect(url, name=name)
        except Exception as exc:  # any failure to connect is retried
            log.warning("nats %s not reachable (%s); retrying in %.1fs", name, exc, delay)
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, max_delay_s)
    return None
