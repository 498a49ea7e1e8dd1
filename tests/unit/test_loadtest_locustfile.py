"""The Locust file parses and declares its user (Locust is an optional extra: skipped without it)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

LOCUSTFILE = Path(__file__).resolve().parents[2] / "serve_app" / "loadtest" / "locustfile.py"


@pytest.mark.skipif(importlib.util.find_spec("locust") is None,
                    reason='locust is not installed (pip install -e ".[loadtest]")')
def test_locust_loads_the_flash_sale_file_and_lists_its_user():
    # In a child process: importing locust monkey-patches the standard library with gevent.
    done = subprocess.run([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--list"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Shopper" in done.stdout
    assert "Traceback" not in done.stderr and "Uncaught exception" not in done.stderr


def test_the_locust_file_is_valid_python_without_locust():
    compile(LOCUSTFILE.read_text(), str(LOCUSTFILE), "exec")
