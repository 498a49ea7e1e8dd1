-- Exactly-once effects for event consumers: an event's effect and its inbox
-- row commit together, so a redelivered event finds its row and changes nothing.
CREATE TABLE inbox (
    consumer      text NOT NULL,
    event_id      uuid NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Events a consumer gave up on (max_deliver reached, or poison).
CREATE TABLE dead_letters (
    id            bigserial PRIMARY KEY,
    consumer      text NOT NULL,
    event_id      uuid NOT NULL,
    event_type    text NOT NULL,
    subject       text NOT NULL,
    payload       jsonb NOT NULL,
    error         text NOT NULL,
    deliveries    integer NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    retried_at    timestamptz,
    retries       integer NOT NULL DEFAULT 0,
    UNIQUE (consumer, event_id)
);
CREATE INDEX dead_letters_open ON dead_letters (created_at DESC) WHERE retried_at IS NULL;
