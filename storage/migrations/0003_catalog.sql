-- The catalog. Prices are integer minor units plus an ISO 4217 currency.
-- Categories are created by admins; a product names one by slug.
CREATE TABLE categories (
    slug        text PRIMARY KEY CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id              uuid PRIMARY KEY,
    seller_id       uuid NOT NULL REFERENCES users (id),
    sku             text NOT NULL,
    name            text NOT NULL,
    description     text NOT NULL DEFAULT '',
    price_amount    bigint NOT NULL CHECK (price_amount BETWEEN 0 AND 1000000000000),  -- domain.money.MAX_AMOUNT
    price_currency  char(3) NOT NULL CHECK (price_currency ~ '^[A-Z]{3}$'),
    category        text REFERENCES categories (slug),
    attributes      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object'),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- clock_timestamp, not now(): products created in one transaction (bulk)
    -- still get distinct, ordered creation times for the "newest" listing.
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    search          tsvector GENERATED ALWAYS AS (
                        to_tsvector('english', coalesce(name, '') || ' ' || coalesce(description, ''))
                    ) STORED
);

-- A SKU is unique per seller among live products: archiving frees it for reuse.
CREATE UNIQUE INDEX products_seller_sku_active ON products (seller_id, sku) WHERE status = 'active';
CREATE INDEX products_search ON products USING gin (search) WHERE status = 'active';

-- Keyset pagination: one index per listing order, over listed (active) rows only.
-- Each ends in id, the tie-breaker the cursor carries.
CREATE INDEX products_newest ON products (created_at DESC, id DESC) WHERE status = 'active';
CREATE INDEX products_by_price ON products (price_amount, id) WHERE status = 'active';
CREATE INDEX products_by_name ON products (name, id) WHERE status = 'active';
CREATE INDEX products_by_category ON products (category, created_at DESC, id DESC) WHERE status = 'active';
CREATE INDEX products_by_seller ON products (seller_id, created_at DESC, id DESC);
