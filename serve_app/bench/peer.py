"""Running the peer (`peer_app.py`) for the benchmark: its tables, its process, its audit."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from collections.abc import Iterator

import httpx
import jwt
import psycopg

from serve_app.bench.peer_app import ensure_schema
from serve_app.loadtest.audit import Check, check_conservation, check_held, check_successes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tokens(secret: str, n: int) -> list[str]:
    expires = int(time.time()) + 3600
    return [jwt.encode({"sub": f"peer-shopper-{i}", "exp": expires}, secret, algorithm="HS256") for i in range(n)]


async def new_product(dsn: str, stock: int) -> str:
    """A fresh hot row with `stock` units (tables created when missing)."""
    product_id = uuid.uuid4()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await ensure_schema(conn)
        await conn.execute("INSERT INTO peer_stock (product_id, available) VALUES (%s, %s)", (product_id, stock))
    return str(product_id)


@contextmanager
def running(dsn: str, secret: str, *, workers: int, pool_size: int, ready_timeout_s: float = 60) -> Iterator[str]:
    """The peer under uvicorn on a free loopback port; yields its base URL, stops its process group after."""
    port = free_port()
    env = {**os.environ, "PEER_DATABASE_URL": dsn, "PEER_JWT_SECRET": secret, "PEER_POOL_SIZE": str(pool_size)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "serve_app.bench.peer_app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url, ready_timeout_s)
        yield url
    finally:
        _stop(proc)


def _wait_ready(proc: subprocess.Popen, url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the peer exited ({proc.returncode}): {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the peer did not answer on {url} within {timeout_s:.0f}s")


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group this module started (uvicorn and its workers), then SIGKILL."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


async def audit(dsn: str, product_id: str, *, stock: int, created: int, demand: int) -> tuple[Check, ...]:
    """The peer's books against its answers: counters, successes and one order per 201."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        available = (await (await conn.execute(
            "SELECT available FROM peer_stock WHERE product_id = %s", (product_id,))).fetchone())[0]
        orders = (await (await conn.execute(
            "SELECT coalesce(sum(quantity), 0) FROM peer_orders WHERE product_id = %s", (product_id,))).fetchone())[0]
    figures = {"available": available, "reserved": 0, "sold": orders, "received": stock}
    return (
        check_successes(created, demand, stock),
        check_conservation(figures, stock),
        check_held(figures, created, created, what="201 answers"),
    )
