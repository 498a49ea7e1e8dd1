-- A ProductActor's batch writes its counters, ledger rows and reservations in
-- ONE statement (storage/inventory.py: _WRITE_STOCK_BATCH), and inserts the
-- rows only if that same statement updated the product's product_stock row,
-- so the parent provably exists. The foreign keys checked it again, once per
-- row: 128 trigger calls for a batch of 64 reservations, about a third of the
-- statement's time (EXPLAIN ANALYZE: 2.6 of 7.2 ms). Stock rows are never
-- deleted (products are archived), so nothing can leave them dangling.
ALTER TABLE stock_ledger DROP CONSTRAINT stock_ledger_product_id_fkey;
ALTER TABLE stock_reservations DROP CONSTRAINT stock_reservations_product_id_fkey;
