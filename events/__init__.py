"""Domain events: envelope, outbox, relay to NATS JetStream, embedded NATS server."""
