"""The Locust flash sale against the session's system: a short headless run passes its audit."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import users_with_tokens

LOCUSTFILE = Path(__file__).resolve().parents[2] / "serve_app" / "loadtest" / "locustfile.py"

pytestmark = pytest.mark.skipif(importlib.util.find_spec("locust") is None,
                                reason='locust is not installed (pip install -e ".[loadtest]")')


async def test_a_short_headless_locust_sale_passes_its_audit(system, tmp_path):
    (_, admin), = await users_with_tokens(system, "admin", 1)
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", system.base_url, "--headless",
         "-u", "6", "-r", "6", "-t", "20s", "--stop-timeout", "5", "--only-summary",
         "--flash-stock", "8", "--flash-max-checkouts", "60",
         "--flash-admin-token", admin["Authorization"].removeprefix("Bearer ")],
        capture_output=True, text=True, timeout=180, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert "flash sale audit PASSED" in output, output[-3000:]
    assert "audit [ok] successes == min(stock, demand): 8 orders created" in output
    assert done.returncode == 0, output[-3000:]
