"""The checkout's sold-out bookkeeping when the database does not answer."""

from __future__ import annotations

from contextlib import asynccontextmanager
from types import SimpleNamespace

from serve_app.orders.checkout import _remember_sold_out
from serve_app.orders.soldout import SoldOutMemory


class DownPool:
    @asynccontextmanager
    async def connection(self):
        raise OSError("connection refused")
        yield


async def test_a_sold_out_answer_stands_when_its_holders_cannot_be_read():
    """The 409 the product gave must reach the shopper, not a 500 from reading holders."""
    services = SimpleNamespace(sold_out=SoldOutMemory(ttl_s=60), pool=DownPool())
    await _remember_sold_out(services, "p1")
    assert services.sold_out.sold_out(["p1"]) == ["p1"]  # new orders are refused
    assert services.sold_out.sold_out(["p1"], order_id="a-retry") == []  # keyed ones go on to the route
