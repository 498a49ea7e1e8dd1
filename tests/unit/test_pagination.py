"""Keyset cursors: opaque, round-trip exactly, and refuse anything they did not issue."""

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from serve_app.pagination import (
    MAX_CURSOR_LENGTH, MAX_PAGE_SIZE, InvalidCursor, decode_cursor, encode_cursor, split_page, uuid_id,
)
from serve_app.catalog.service import _KEY_PARSERS
from serve_app.errors import status_for


def parsers(sort):
    return [_KEY_PARSERS[sort], uuid_id]


def test_round_trip_every_sort_key():
    row_id = str(uuid.uuid4())
    created = datetime(2024, 5, 1, 12, 30, 45, 123456, tzinfo=UTC)
    for sort, key, expected in [
        ("newest", created.isoformat(), created),
        ("price_asc", 1999, 1999),
        ("price_desc", 0, 0),
        ("name", "Ünïcode & spaces / slashes", "Ünïcode & spaces / slashes"),
    ]:
        token = encode_cursor(sort, [key, row_id])
        assert decode_cursor(token, sort, parsers(sort)) == (expected, uuid.UUID(row_id))


def test_token_is_url_safe_and_unpadded():
    token = encode_cursor("name", ["?&=+/ " * 5, str(uuid.uuid4())])
    assert token.isascii()
    assert not set(token) & set("+/=?& ")


def test_microseconds_survive():
    created = datetime(2024, 5, 1, 0, 0, 0, 1, tzinfo=UTC)
    token = encode_cursor("newest", [created.isoformat(), str(uuid.uuid4())])
    assert decode_cursor(token, "newest", parsers("newest"))[0] == created


def raw_token(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("token", [
    "",
    "not base64 !!!",
    "%%%%",
    "AAAA",                                            # base64 of bytes that are not JSON
    raw_token({"sort": "newest"}),                     # not a list
    raw_token(["price_asc", 5]),                       # too few values
    raw_token(["price_asc", 5, str(uuid.uuid4()), 1]),  # too many values
    raw_token(["price_asc", "5", str(uuid.uuid4())]),   # key of the wrong type
    raw_token(["price_asc", 5.5, str(uuid.uuid4())]),
    raw_token(["price_asc", True, str(uuid.uuid4())]),
    raw_token(["price_asc", -1, str(uuid.uuid4())]),
    raw_token(["price_asc", 2**70, str(uuid.uuid4())]),
    raw_token(["price_asc", 5, "not-a-uuid"]),
    raw_token(["price_asc", 5, 12345]),
    raw_token(["price_asc", 5, str(uuid.uuid4())]) + "!",  # junk appended
    "A" * (MAX_CURSOR_LENGTH + 1),
])
def test_malformed_cursors_are_invalid(token):
    with pytest.raises(InvalidCursor) as caught:
        decode_cursor(token, "price_asc", parsers("price_asc"))
    assert caught.value.code == "invalid_cursor"


@pytest.mark.parametrize("token", [
    raw_token(["newest", "2024-05-01T00:00:00", str(uuid.uuid4())]),  # naive timestamp
    raw_token(["newest", "yesterday", str(uuid.uuid4())]),
    raw_token(["newest", 1714521600, str(uuid.uuid4())]),
    raw_token(["name", "a\x00b", str(uuid.uuid4())]),
    raw_token(["name", None, str(uuid.uuid4())]),
])
def test_malformed_keys_are_invalid_for_their_own_sort(token):
    sort = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))[0]
    with pytest.raises(InvalidCursor):
        decode_cursor(token, sort, parsers(sort))


def test_cursor_of_another_sort_is_refused():
    token = encode_cursor("price_asc", [100, str(uuid.uuid4())])
    with pytest.raises(InvalidCursor):
        decode_cursor(token, "price_desc", parsers("price_desc"))


def test_invalid_cursor_maps_to_400():
    assert status_for(InvalidCursor("x")) == 400


def test_split_page():
    assert split_page([1, 2, 3], 3) == ([1, 2, 3], None)
    assert split_page([1, 2, 3, 4], 3) == ([1, 2, 3], 3)
    assert split_page([], 3) == ([], None)


def test_every_listing_takes_the_same_limit_and_cursor(tmp_path):
    """One rule for `?limit=` and `?cursor=` on every listing: limit 1..100; the cursor
    unbounded at the query level, so a long one is decode_cursor's 400, not a 422."""
    from config import Settings
    from serve_app.app import create_app

    schema = create_app(Settings(state_dir=tmp_path, jwt_secret="k" * 40)).openapi()
    listings = {}
    for path, methods in schema["paths"].items():
        params = {p["name"]: p["schema"] for p in methods.get("get", {}).get("parameters", []) if p["in"] == "query"}
        if "cursor" in params:
            listings[path] = params
    assert {"/api/products", "/api/categories", "/api/orders", "/api/users/me/addresses"} <= set(listings)
    for path, params in listings.items():
        cursor_variants = params["cursor"].get("anyOf", [params["cursor"]])
        assert all("maxLength" not in variant for variant in cursor_variants), path
        assert (params["limit"].get("minimum"), params["limit"].get("maximum")) == (1, MAX_PAGE_SIZE), path
