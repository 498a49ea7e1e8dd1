-- The catalog. Prices are integer minor units plus an ISO 4217 currency.
CREATE TABLE categories (
    slug        text PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id              uuid PRIMARY KEY,
    seller_id       uuid NOT NULL REFERENCES users (id),
    sku             text NOT NULL,
    name            text NOT NULL,
    description     text NOT NULL DEFAULT '',
    price_amount    bigint NOT NULL CHECK (price_amount >= 0),
    price_currency  char(3) NOT NULL,
    category        text REFERENCES categories (slug),
    attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    search          tsvector GENERATED ALWAYS AS (
                        to_tsvector('english', coalesce(name, '') || ' ' || coalesce(description, ''))
                    ) STORED,
    UNIQUE (seller_id, sku)
);
CREATE INDEX products_search ON products USING gin (search);
CREATE INDEX products_listing ON products (status, created_at DESC, id);
CREATE INDEX products_category ON products (category) WHERE status = 'active';
CREATE INDEX products_price ON products (price_amount) WHERE status = 'active';
