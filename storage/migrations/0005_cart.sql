-- One cart per shopper: one line per product. The price at the first add is
-- kept so the cart view can show what changed since; the current price is
-- always read from `products`. Every line of a cart is in one currency (the
-- service checks it under a per-cart lock, see storage/cart.py).
CREATE TABLE cart_items (
    user_id                  uuid NOT NULL REFERENCES users (id),
    product_id               uuid NOT NULL REFERENCES products (id),
    quantity                 integer NOT NULL CHECK (quantity > 0),
    price_when_added_amount  bigint NOT NULL CHECK (price_when_added_amount >= 0),
    price_currency           char(3) NOT NULL CHECK (price_currency ~ '^[A-Z]{3}$'),
    -- clock_timestamp: lines added in one transaction still get distinct times.
    added_at                 timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, product_id)
);
