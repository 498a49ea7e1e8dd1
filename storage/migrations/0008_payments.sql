-- Payments (README "Payments"). Rules: actors/payments/state.py.
CREATE TABLE payments (
    id                 uuid PRIMARY KEY,
    order_id           uuid NOT NULL REFERENCES orders (id),
    user_id            uuid NOT NULL REFERENCES users (id),
    status             text NOT NULL
                       CHECK (status IN ('processing', 'succeeded', 'failed', 'partially_refunded', 'refunded')),
    amount             bigint NOT NULL CHECK (amount > 0),
    currency           char(3) NOT NULL,
    refunded_amount    bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    provider           text NOT NULL,
    payment_method     text NOT NULL,
    -- At-most-once charging: `charge_started_at` is committed before the first
    -- call to the gateway, `provider_ref` (the PaymentIntent id) as soon as it
    -- is known; a redelivered PAYMENT_ADDED resumes that intent.
    provider_ref       text,
    charge_started_at  timestamptz,
    charge_attempts    integer NOT NULL DEFAULT 0,
    failure_reason     text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- One payment per order may be processing or hold money; only failed ones
-- do not count. Two concurrent POSTs cannot both insert.
CREATE UNIQUE INDEX payments_one_live_per_order ON payments (order_id) WHERE status <> 'failed';
CREATE UNIQUE INDEX payments_by_provider_ref ON payments (provider, provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX payments_by_order ON payments (order_id, created_at, id);

-- A refund is recorded `pending` (holding its amount) before the gateway is
-- called, and `succeeded` with PAYMENT_REFUNDED once the gateway confirmed it.
CREATE TABLE payment_refunds (
    id            uuid PRIMARY KEY,
    payment_id    uuid NOT NULL REFERENCES payments (id),
    amount        bigint NOT NULL CHECK (amount > 0),
    status        text NOT NULL CHECK (status IN ('pending', 'succeeded')),
    reason        text NOT NULL,
    requested_by  uuid,
    provider_ref  text,
    attempted_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);
CREATE INDEX payment_refunds_by_payment ON payment_refunds (payment_id, created_at);
CREATE INDEX payment_refunds_pending ON payment_refunds (payment_id) WHERE status = 'pending';

-- Idempotency-Key of POST /api/payments (scope 'payment') and of refunds ('refund').
CREATE TABLE payment_idempotency (
    user_id       uuid NOT NULL,
    scope         text NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    resource_id   uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, scope, key)
);

-- Stripe webhook events already applied: a replay is answered 200 and ignored.
CREATE TABLE stripe_webhook_events (
    event_id      text PRIMARY KEY,
    type          text NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);

-- The simulated gateway's own ledger (the embedded default provider). Like
-- localstripe it has no idempotency keys: at-most-once charging is ours.
CREATE TABLE simulated_payment_intents (
    id              text PRIMARY KEY,
    payment_id      uuid NOT NULL,
    amount          bigint NOT NULL,
    currency        char(3) NOT NULL,
    payment_method  text NOT NULL,
    status          text NOT NULL,
    failure_code    text,
    confirm_calls   integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX simulated_payment_intents_by_payment ON simulated_payment_intents (payment_id);

CREATE TABLE simulated_refunds (
    id          text PRIMARY KEY,
    intent_id   text NOT NULL REFERENCES simulated_payment_intents (id),
    refund_id   uuid NOT NULL,
    amount      bigint NOT NULL CHECK (amount > 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX simulated_refunds_by_intent ON simulated_refunds (intent_id);
