-- Flash sales: a window, a sale price and a per-shopper limit, owned by the
-- product's virtual actor (which enforces the limit from its reservations).
CREATE TABLE product_sales (
    product_id         uuid PRIMARY KEY REFERENCES product_stock (product_id),
    starts_at          timestamptz NOT NULL,
    ends_at            timestamptz NOT NULL,
    price_amount       bigint NOT NULL CHECK (price_amount >= 0),
    currency           char(3) NOT NULL,
    per_shopper_limit  integer CHECK (per_shopper_limit > 0),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at >= starts_at)
);

ALTER TABLE stock_reservations ADD COLUMN shopper_id text;
