"""`commerce admin create`: the only way to an admin, against DATABASE_URL or the embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PASSWORD = "admin password 1"


def run_cli(args: list[str], *, state_dir: Path, database_url: str | None, password: str | None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("COMMERCE_") and k not in ("DATABASE_URL", "NATS_URL")}
    env["COMMERCE_STATE_DIR"] = str(state_dir)
    if database_url:
        env["DATABASE_URL"] = database_url
    if password is not None:
        env["COMMERCE_ADMIN_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "serve_app.cli", "admin", "create", *args], cwd=PROJECT, env=env,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )


def test_creates_an_admin_who_can_sign_in(system, http, tmp_path):
    email = f"Admin-{uuid.uuid4().hex[:8]}@Example.test"
    result = run_cli(["--email", email, "--name", "Root"], state_dir=tmp_path,
                     database_url=system.settings.database_url, password=PASSWORD)
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    login = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["role"] == "admin"
    assert login.json()["user"]["email"] == email.lower()
    again = run_cli(["--email", email], state_dir=tmp_path,
                    database_url=system.settings.database_url, password=PASSWORD)
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_without_password_or_terminal_it_refuses(system, tmp_path):
    result = run_cli(["--email", f"a-{uuid.uuid4().hex[:8]}@example.test"], state_dir=tmp_path,
                     database_url=system.settings.database_url, password=None)
    assert result.returncode == 2
    assert "COMMERCE_ADMIN_PASSWORD" in result.stderr
    assert "Traceback" not in result.stderr


def test_refuses_a_short_password_without_echoing_it(system, tmp_path):
    result = run_cli(["--email", f"a-{uuid.uuid4().hex[:8]}@example.test"], state_dir=tmp_path,
                     database_url=system.settings.database_url, password="short7!")
    assert result.returncode == 2
    assert "password" in result.stderr and "short7!" not in result.stderr


def test_works_against_the_embedded_default(tmp_path):
    """No DATABASE_URL: it starts the embedded PostgreSQL in the state dir, migrates, creates, stops."""
    email = f"root-{uuid.uuid4().hex[:8]}@example.test"
    first = run_cli(["--email", email], state_dir=tmp_path, database_url=None, password=PASSWORD)
    assert first.returncode == 0, first.stderr
    assert "created admin" in first.stdout
    # A second run sees the first one's account: it was committed to the embedded server's data dir.
    second = run_cli(["--email", email], state_dir=tmp_path, database_url=None, password=PASSWORD)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "already exists" in second.stderr
