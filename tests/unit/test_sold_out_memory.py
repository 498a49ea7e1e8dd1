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


def test_a_checkout_whose_order_holds_the_product_is_never_refused():
    """A retry with the same key of an order that got the stock must reach its order."""
    memory = SoldOutMemory(ttl_s=0.05)
    memory.remember("p1")
    assert memory.sold_out(["p1"]) == ["p1"]  # no key: a new order, refused at once
    assert memory.sold_out(["p1"], order_id="order-b") == []  # holders not known yet: the route decides
    memory.holders_known("p1", {"order-a"})
    assert memory.sold_out(["p1"], order_id="order-a") == []
    assert memory.sold_out(["p1"], order_id="order-b") == ["p1"]
    time.sleep(0.1)
    with memory.probe(["p1"]):
        assert memory.sold_out(["p1"], order_id="order-b") == ["p1"]  # the holders read last time
        assert memory.sold_out(["p1"], order_id="order-a") == []
        memory.remember("p1")  # sold out again: read again (another replica may have sold meanwhile)
        memory.holders_known("p1", {"order-a", "order-c"})
    assert memory.sold_out(["p1"], order_id="order-c") == []
    assert memory.sold_out(["p1"], order_id="order-b") == ["p1"]


def test_remembered_is_true_only_while_the_memory_is_fresh():
    memory = SoldOutMemory(ttl_s=0.05)
    assert not memory.remembers("p1")
    memory.remember("p1")
    assert memory.remembers("p1")
    time.sleep(0.1)
    assert not memory.remembers("p1")
