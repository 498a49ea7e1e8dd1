-- The transactional outbox: domain events written in the same transaction as
-- the state change they describe, published to JetStream by the relay.
CREATE TABLE outbox (
    position        bigserial PRIMARY KEY,
    id              uuid NOT NULL UNIQUE,
    type            text NOT NULL,
    aggregate_type  text NOT NULL,
    aggregate_id    text NOT NULL,
    sequence        bigint NOT NULL,
    occurred_at     timestamptz NOT NULL,
    correlation_id  text,
    data            jsonb NOT NULL,
    published_at    timestamptz,
    UNIQUE (aggregate_type, aggregate_id, sequence)
);

-- The relay scans only what is still unpublished.
CREATE INDEX outbox_unpublished ON outbox (position) WHERE published_at IS NULL;
CREATE INDEX outbox_by_type_time ON outbox (type, occurred_at);
CREATE INDEX outbox_by_aggregate ON outbox (aggregate_id, sequence);
CREATE INDEX outbox_by_time ON outbox (occurred_at);

-- Per-aggregate event sequence numbers.
CREATE TABLE aggregate_sequences (
    aggregate_type  text NOT NULL,
    aggregate_id    text NOT NULL,
    last_sequence   bigint NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);
