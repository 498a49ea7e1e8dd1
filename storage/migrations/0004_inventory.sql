-- Fencing: every shard incarnation takes the next epoch; writes carry it.
CREATE TABLE shard_epochs (
    shard_id    integer PRIMARY KEY,
    epoch       bigint NOT NULL,
    taken_at    timestamptz NOT NULL DEFAULT now()
);

-- Stock counters, owned by the product's virtual actor. The CHECK is the last
-- line of defence against oversell: a buggy writer fails instead of overselling.
CREATE TABLE product_stock (
    product_id  uuid PRIMARY KEY REFERENCES products (id),
    received    bigint NOT NULL DEFAULT 0,
    reserved    bigint NOT NULL DEFAULT 0,
    sold        bigint NOT NULL DEFAULT 0,
    version     bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (received >= 0 AND reserved >= 0 AND sold >= 0 AND reserved + sold <= received)
);

CREATE TABLE stock_reservations (
    product_id  uuid NOT NULL REFERENCES product_stock (product_id),
    order_id    text NOT NULL,
    quantity    integer NOT NULL CHECK (quantity > 0),
    status      text NOT NULL CHECK (status IN ('held', 'committed', 'released')),
    hold_until  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, order_id)
);

-- Every movement, in order: the audit trail the counters must agree with.
CREATE TABLE stock_ledger (
    id          bigserial PRIMARY KEY,
    product_id  uuid NOT NULL REFERENCES product_stock (product_id),
    kind        text NOT NULL CHECK (kind IN ('reserve', 'release', 'commit', 'return', 'restock')),
    ref         text NOT NULL,
    quantity    integer NOT NULL CHECK (quantity > 0),
    version     bigint NOT NULL,
    epoch       bigint,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_ledger_product ON stock_ledger (product_id, id);
-- Restocks are idempotent by id.
CREATE UNIQUE INDEX stock_ledger_restock_once ON stock_ledger (product_id, ref) WHERE kind = 'restock';
