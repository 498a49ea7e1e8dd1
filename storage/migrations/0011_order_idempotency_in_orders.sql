-- The Idempotency-Key now names the order itself (its id is derived from the
-- shopper and the key), so the OrderActor serializes retries; the order keeps
-- the hash of the first request to refuse the key with another body.
ALTER TABLE orders ADD COLUMN request_hash text;
DROP TABLE order_idempotency;
