"""Fixtures shared by the integration tests (the `system` fixture is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from serve_app.identity.tokens import TokenService
from storage.pool import open_pool


@pytest.fixture
async def pool(system):
    """A small pool of the test's own on the system's database, closed after the test."""
    pool = await open_pool(system.settings.database_url, max_size=6, name="test")
    yield pool
    await pool.close()


@pytest.fixture
def tokens(system) -> TokenService:
    return TokenService(system.settings)
