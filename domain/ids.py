"""Ids are opaque strings at the edge and UUIDs inside: one place parses them."""

from __future__ import annotations

import uuid


def uuid_or_none(value: str) -> str | None:
    """The canonical form of a UUID string, or None if it is not one (an unknown id: 404, never 500)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None
