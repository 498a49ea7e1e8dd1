-- Orders, owned by their OrderActor. `stock_state` is the durable intent about
-- the order's reservations; the actor resumes any unfinished one after a restart.
CREATE TABLE orders (
    id                uuid PRIMARY KEY,
    user_id           uuid NOT NULL REFERENCES users (id),
    status            text NOT NULL,
    stock_state       text NOT NULL,
    currency          char(3) NOT NULL,
    subtotal_amount   bigint NOT NULL CHECK (subtotal_amount >= 0),
    shipping_amount   bigint NOT NULL CHECK (shipping_amount >= 0),
    total_amount      bigint NOT NULL CHECK (total_amount >= 0),
    shipping_address  jsonb,
    expires_at        timestamptz,
    short_items       jsonb NOT NULL DEFAULT '[]'::jsonb,
    cancel_reason     text,
    refund_requested  boolean NOT NULL DEFAULT false,
    applied_refs      text[] NOT NULL DEFAULT '{}',
    version           bigint NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_by_user ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_by_time ON orders (created_at DESC, id DESC);
-- What a restarted shard must look at: open holds and unfinished stock work.
CREATE INDEX orders_needing_attention ON orders (id)
    WHERE status IN ('PENDING', 'AWAITING_PAYMENT') OR stock_state IN ('reserving', 'releasing', 'committing');

CREATE TABLE order_lines (
    order_id          uuid NOT NULL REFERENCES orders (id),
    line_no           integer NOT NULL,
    product_id        uuid NOT NULL REFERENCES products (id),
    seller_id         uuid NOT NULL,
    sku               text NOT NULL,
    name              text NOT NULL,
    quantity          integer NOT NULL CHECK (quantity > 0),
    unit_price_amount bigint NOT NULL CHECK (unit_price_amount >= 0),
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_by_seller ON order_lines (seller_id, order_id);

-- Idempotency-Key of POST /api/orders: the same key and body give the first order.
CREATE TABLE order_idempotency (
    user_id       uuid NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    order_id      uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
