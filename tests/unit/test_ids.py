"""Id helpers: parsing at the edge, and the order id derived from shopper and key."""

from __future__ import annotations

import uuid

import pytest

from domain.ids import uuid5_str, uuid_or_none

NAMESPACE = uuid.UUID("6f1d3c1e-5a43-4d67-9d0e-8c2b7f4a9e10")


@pytest.mark.parametrize("name", ["", "a", "user:key", "ünïcødé:ключ", "x" * 500, f"{uuid.uuid4()}:{uuid.uuid4()}"])
def test_uuid5_str_is_uuid5(name):
    assert uuid5_str(NAMESPACE, name) == str(uuid.uuid5(NAMESPACE, name))


def test_uuid5_str_agrees_over_many_names():
    for i in range(2000):
        name = f"{uuid.uuid4()}:{i}"
        assert uuid5_str(uuid.NAMESPACE_URL, name) == str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def test_uuid_or_none():
    value = uuid.uuid4()
    assert uuid_or_none(str(value).upper()) == str(value)
    assert uuid_or_none("sku-1") is None
