"""Opaque keyset-pagination cursors.

A cursor is base64url (unpadded) of the JSON array `[scope, *values]`: the
scope names the listing order it was made for (e.g. `price_asc`) and the
values are the last row's sort key and id. Decoding checks the scope and
parses every value, so a cursor that was tampered with, truncated, or made for
another order is a 400 `invalid_cursor`, never a database error.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import Query

from domain.errors import DomainError

# Far above any real cursor; refuses absurd input before decoding it.
MAX_CURSOR_LENGTH = 512
MAX_PAGE_SIZE = 100

# Every listing's `?limit=` and `?cursor=` (API.md "Lists"). The cursor has no
# query-level bound on purpose: `decode_cursor` refuses a long one like any
# other bad cursor, so every listing answers it with the same 400.
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
PageCursor = Annotated[str | None, Query()]


class InvalidCursor(DomainError):
    """Not a cursor this API issued for this listing (400)."""

    code = "invalid_cursor"


def encode_cursor(scope: str, values: Sequence[Any]) -> str:
    """`values` must be JSON-native (str, int); convert datetimes and UUIDs first."""
    raw = orjson.dumps([scope, *values])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(token: str, scope: str, parsers: Sequence[Callable[[Any], Any]]) -> tuple[Any, ...]:
    """Return the parsed values; raise InvalidCursor for anything else.

    Each parser gets one decoded JSON value and returns it parsed, raising
    ValueError or TypeError when the value is not of the expected kind.
    """
    if not token or len(token) > MAX_CURSOR_LENGTH:
        raise InvalidCursor("The cursor is not valid for this listing.")
    try:
        padded = token + "=" * (-len(token) % 4)
        decoded = orjson.loads(base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True))
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise InvalidCursor("The cursor is not valid for this listing.") from None
    if not isinstance(decoded, list) or len(decoded) != len(parsers) + 1 or decoded[0] != scope:
        raise InvalidCursor("The cursor is not valid for this listing.")
    try:
        return tuple(parse(value) for parse, value in zip(parsers, decoded[1:], strict=True))
    except (TypeError, ValueError, OverflowError):
        raise InvalidCursor("The cursor is not valid for this listing.") from None


def split_page(rows: list, limit: int) -> tuple[list, Any]:
    """Rows were fetched with `limit + 1`: return the page and, if there is more, the row to continue after."""
    page = rows[:limit]
    return page, (page[-1] if len(rows) > limit else None)


# Parsers for decode_cursor: each accepts only what encode_cursor was given.


def aware_datetime(value: Any) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise ValueError("not an aware timestamp")
    return parsed


def bigint(value: Any) -> int:
    if type(value) is not int or not 0 <= value < 2**63:
        raise ValueError("not a non-negative bigint")
    return value


def text(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("not text")
    return value


def uuid_id(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError("not an id")
    return uuid.UUID(value)
