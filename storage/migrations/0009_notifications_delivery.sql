-- Notifications: one row per (event, channel, user), written by the
-- `notifications` consumer in the same transaction as its inbox row, so a
-- redelivered event can never make a second one. Rows are sent after commit
-- by the dispatcher: `pending` rows whose `next_attempt_at` is due are
-- claimed by pushing `next_attempt_at` forward (a lease), then marked `sent`
-- or given a later attempt. `skipped` rows were never sent (opt-out, erased).
CREATE TABLE notifications (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id),
    event_id         uuid NOT NULL,
    event_type       text NOT NULL,
    channel          text NOT NULL CHECK (channel IN ('email', 'sms')),
    template         text NOT NULL,
    recipient        text NOT NULL,
    subject          text NOT NULL DEFAULT '',
    body             text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    skip_reason      text,
    provider         text,
    provider_ref     text,
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error       text,
    next_attempt_at  timestamptz,
    -- clock_timestamp: distinct, ordered times for the keyset cursor.
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at          timestamptz,
    UNIQUE (event_id, channel, user_id),
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE INDEX notifications_by_user ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';

-- Shipments: one per paid order. `courier` says who drives it: the embedded
-- simulator (steps due at `next_step_at`, polled by the delivery worker) or a
-- real partner reporting through the courier webhook.
CREATE TABLE shipments (
    id               uuid PRIMARY KEY,
    order_id         uuid NOT NULL UNIQUE REFERENCES orders (id),
    status           text NOT NULL CHECK (status IN ('CREATED', 'PICKED_UP', 'DELIVERED', 'CANCELLED')),
    courier          text NOT NULL CHECK (courier IN ('simulator', 'partner')),
    partner          text,
    tracking_number  text UNIQUE,
    next_step_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX shipments_due ON shipments (next_step_at) WHERE next_step_at IS NOT NULL;

-- What happened to a shipment, in order. `external_id` is the reporter's own
-- event id (a partner's webhook event id, or the simulator's step key):
-- unique per source, so a replayed report changes nothing.
CREATE TABLE shipment_events (
    id               bigserial PRIMARY KEY,
    shipment_id      uuid NOT NULL REFERENCES shipments (id),
    status           text NOT NULL,
    source           text NOT NULL CHECK (source IN ('system', 'simulator', 'webhook')),
    external_id      text NOT NULL,
    event_id         uuid,
    details          jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (source, external_id)
);
CREATE INDEX shipment_events_by_shipment ON shipment_events (shipment_id, id);
