"""Fixtures shared by the unit tests (no servers)."""

from __future__ import annotations

import pytest

from config import Settings
from serve_app.identity.tokens import TokenService


@pytest.fixture
def tokens(tmp_path) -> TokenService:
    return TokenService(Settings(state_dir=tmp_path, jwt_secret="k" * 40))
