"""Ids are opaque strings at the edge and UUIDs inside: one place parses them."""

from __future__ import annotations

import hashlib
import uuid


def uuid_or_none(value: str) -> str | None:
    """The canonical form of a UUID string, or None if it is not one (an unknown id: 404, never 500)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def uuid5_str(namespace: uuid.UUID, name: str) -> str:
    """`str(uuid.uuid5(namespace, name))` without building a UUID object: a keyed
    checkout derives its order id on every request, the sold-out refusals included,
    and the UUID object was most of that cost (~5 of ~6 µs)."""
    raw = bytearray(hashlib.sha1(namespace.bytes + name.encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
