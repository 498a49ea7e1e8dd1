"""The shopper's cart over HTTP: add, top up, change, remove, clear, and what the view shows.

Also holds the cart test helpers the other cart test modules import.
Products are made with `tests.factories.make_product` (USD, owned by a fresh
seller) and changed with SQL, as a seller's edits or the stock actor would.
"""

from __future__ import annotations

import psycopg
import pytest

from storage.cart import cart_lines, clear_cart
from tests.e2e.test_catalog_products import Actor, new_actor, sql
from tests.factories import make_product


@pytest.fixture
async def shopper(system) -> Actor:
    return await new_actor(system, "shopper")


async def new_product(system, *, stock: int = 10, price: int = 1000, currency: str = "USD") -> str:
    product_id = await make_product(system.settings.database_url, stock=stock, price=price)
    if currency != "USD":
        sql(system, "UPDATE products SET price_currency = %s WHERE id = %s RETURNING id", (currency, product_id))
    return product_id


def archive(system, product_id: str) -> None:
    sql(system, "UPDATE products SET status = 'archived' WHERE id = %s RETURNING id", (product_id,))


def set_price(system, product_id: str, amount: int) -> None:
    sql(system, "UPDATE products SET price_amount = %s WHERE id = %s RETURNING id", (amount, product_id))


def cart(http, actor: Actor) -> dict:
    response = http.get("/api/cart", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


def add(http, actor: Actor, product_id: str, quantity: int) -> dict:
    response = http.post("/api/cart/items", json={"product_id": product_id, "quantity": quantity},
                         headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


def quantities(view: dict) -> dict[str, int]:
    return {line["product_id"]: line["quantity"] for line in view["items"]}


def usd(amount: int) -> dict:
    return {"amount": amount, "currency": "USD"}


EMPTY = {"items": [], "subtotal": None, "item_count": 0}


async def test_add_top_up_change_remove_and_clear(system, http, shopper):
    lamp, desk = await new_product(system, price=1000), await new_product(system, price=250)
    assert cart(http, shopper) == EMPTY

    view = add(http, shopper, lamp, 2)
    sku = sql(system, "SELECT sku FROM products WHERE id = %s", (lamp,))[0][0]
    assert view == {"items": [{
        "product_id": lamp, "sku": sku, "name": "Test product", "status": "active", "quantity": 2,
        "unit_price": usd(1000), "price_when_added": usd(1000), "price_changed": False,
        "available": 10, "in_stock": True, "line_total": usd(2000),
    }], "subtotal": usd(2000), "item_count": 2}

    assert quantities(add(http, shopper, lamp, 3)) == {lamp: 5}  # adds to the line
    view = add(http, shopper, desk, 4)
    assert [line["product_id"] for line in view["items"]] == [lamp, desk]  # in the order added
    assert (view["subtotal"], view["item_count"]) == (usd(5 * 1000 + 4 * 250), 9)

    changed = http.patch(f"/api/cart/items/{lamp}", json={"quantity": 1}, headers=shopper.headers)
    assert changed.status_code == 200, changed.text
    assert quantities(changed.json()) == {lamp: 1, desk: 4}  # sets, not adds
    assert changed.json()["subtotal"] == usd(2000)

    assert http.delete(f"/api/cart/items/{desk}", headers=shopper.headers).status_code == 204
    assert quantities(cart(http, shopper)) == {lamp: 1}

    assert http.delete("/api/cart", headers=shopper.headers).status_code == 204
    assert cart(http, shopper) == EMPTY
    assert http.delete("/api/cart", headers=shopper.headers).status_code == 204  # clearing twice is fine
    assert sql(system, "SELECT count(*) FROM cart_items WHERE user_id = %s", (shopper.id,)) == [(0,)]


async def test_view_shows_current_price_against_price_when_added(system, http, shopper):
    product = await new_product(system, price=1000)
    add(http, shopper, product, 2)
    set_price(system, product, 1250)
    line = cart(http, shopper)["items"][0]
    assert (line["unit_price"], line["price_when_added"], line["price_changed"]) == (usd(1250), usd(1000), True)
    assert line["line_total"] == usd(2500)
    assert cart(http, shopper)["subtotal"] == usd(2500)

    line = add(http, shopper, product, 1)["items"][0]  # topping up keeps the first price
    assert (line["price_when_added"], line["quantity"], line["line_total"]) == (usd(1000), 3, usd(3750))

    set_price(system, product, 1000)
    assert cart(http, shopper)["items"][0]["price_changed"] is False


async def test_view_shows_available_stock_and_whether_the_line_is_in_stock(system, http, shopper):
    product = await new_product(system, stock=5)
    # received 5 - reserved 1 - sold 1: 3 available (no actor holds this new product yet).
    sql(system, "UPDATE product_stock SET reserved = 1, sold = 1 WHERE product_id = %s RETURNING 1", (product,))
    line = add(http, shopper, product, 3)["items"][0]
    assert (line["available"], line["in_stock"]) == (3, True)
    line = http.patch(f"/api/cart/items/{product}", json={"quantity": 4}, headers=shopper.headers).json()["items"][0]
    assert (line["available"], line["in_stock"]) == (3, False)

    sold_out = await new_product(system, stock=0)  # a cart holds no stock: adding is allowed
    line = add(http, shopper, sold_out, 1)["items"][1]
    assert (line["available"], line["in_stock"]) == (0, False)


async def test_archived_product_stays_in_the_cart_but_out_of_the_subtotal(system, http, shopper):
    kept, gone = await new_product(system, price=300), await new_product(system, price=700)
    add(http, shopper, kept, 1)
    add(http, shopper, gone, 2)
    archive(system, gone)

    view = cart(http, shopper)
    assert [line["status"] for line in view["items"]] == ["active", "archived"]
    archived = view["items"][1]
    assert (archived["in_stock"], archived["available"], archived["quantity"]) == (False, 10, 2)
    assert view["subtotal"] == usd(300)

    # An archived line can be removed, not topped up or changed.
    refused = http.patch(f"/api/cart/items/{gone}", json={"quantity": 1}, headers=shopper.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "product_archived")
    assert cart(http, shopper) == view
    assert http.delete(f"/api/cart/items/{gone}", headers=shopper.headers).status_code == 204
    assert quantities(cart(http, shopper)) == {kept: 1}


async def test_each_shopper_has_a_cart_of_their_own(system, http, shopper):
    other = await new_actor(system, "shopper")
    product = await new_product(system)
    mine = add(http, shopper, product, 3)

    assert cart(http, other) == EMPTY
    for response in (
        http.patch(f"/api/cart/items/{product}", json={"quantity": 1}, headers=other.headers),
        http.delete(f"/api/cart/items/{product}", headers=other.headers),
    ):
        assert (response.status_code, response.json()["error"]["code"]) == (404, "cart_item_not_found")
    assert quantities(add(http, other, product, 1)) == {product: 1}
    assert http.delete("/api/cart", headers=other.headers).status_code == 204

    assert cart(http, shopper) == mine


async def test_checkout_reads_the_lines_in_order_and_clears_them_in_its_transaction(system, http, shopper):
    first, second = await new_product(system), await new_product(system)
    add(http, shopper, first, 2)
    add(http, shopper, second, 1)
    add(http, shopper, first, 1)
    async with await psycopg.AsyncConnection.connect(system.settings.database_url) as conn:
        assert await cart_lines(conn, shopper.id) == [
            {"product_id": first, "quantity": 3}, {"product_id": second, "quantity": 1},
        ]
        await clear_cart(conn, shopper.id)
        assert await cart_lines(conn, shopper.id) == []
        await conn.rollback()  # clear_cart does not commit: the caller's rollback keeps the cart
        assert quantities(cart(http, shopper)) == {first: 3, second: 1}
        await clear_cart(conn, shopper.id)
        await conn.commit()
    assert cart(http, shopper) == EMPTY
