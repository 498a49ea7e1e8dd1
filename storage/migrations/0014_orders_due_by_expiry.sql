-- Orders placed by a ProductActor in one step (actors/orders/place.py) have no
-- active OrderActor, so no armed expiry timer: each shard sweeps for holds that
-- ran out (storage/orders.py: orders_due). The partial index of open orders is
-- keyed by expiry instead of id, so that sweep reads only the due rows; the
-- restart scan (orders_needing_attention) still reads it for unfinished work.
DROP INDEX orders_needing_attention;
CREATE INDEX orders_needing_attention ON orders (expires_at)
    WHERE status IN ('PENDING', 'AWAITING_PAYMENT') OR stock_state IN ('reserving', 'releasing', 'committing');
