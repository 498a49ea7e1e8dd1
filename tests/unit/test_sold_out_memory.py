import time

from serve_app.orders.soldout import SoldOutMemory


def test_remembers_for_the_ttl_then_lets_one_probe_through():
    memory = SoldOutMemory(ttl_s=0.2)
    memory.remember("p1")
    assert memory.sold_out(["p1", "p2"]) == ["p1"]
    time.sleep(0.25)
    assert memory.sold_out(["p1"]) == []  # faded: this caller may ask again
    with memory.probe(["p1"]):
        assert memory.sold_out(["p1"]) == ["p1"]  # everyone else waits for the probe
        memory.remember("p1")  # the probe found it sold out again
    assert memory.sold_out(["p1"]) == ["p1"]


def test_a_probe_that_finds_stock_clears_the_memory():
    memory = SoldOutMemory(ttl_s=0.05)
    memory.remember("p1")
    time.sleep(0.1)
    with memory.probe(["p1"]):
        pass  # the checkout went through: stock was back
    assert memory.sold_out(["p1"]) == []
