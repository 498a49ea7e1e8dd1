"""The `Idempotency-Key` header, as every route that takes one (and the sold-out gate) reads it."""

from __future__ import annotations

from fastapi import Header

IDEMPOTENCY_KEY_MAX_LENGTH = 200

# A route parameter's default: `idempotency_key: str | None = IdempotencyKey`.
IdempotencyKey = Header(default=None, min_length=1, max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
