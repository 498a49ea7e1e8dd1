import time

from serve_app.orders.soldout import SoldOutMemory


def test_remembers_for_the_ttl_only():
    memory = SoldOutMemory(ttl_s=0.2)
    memory.remember("p1")
    assert memory.sold_out(["p1", "p2"]) == ["p1"]
    time.sleep(0.25)
    assert memory.sold_out(["p1"]) == []
