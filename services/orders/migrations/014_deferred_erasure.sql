-- Erasure waits while the buyer's data is needed to perform a paid order: the request is
-- recorded (BuyerDataErasureDeferred) and the orders worker erases once none of the buyer's
-- orders awaits performance. The sweep's work list: the buyers who asked and are not erased.
ALTER TABLE order_view ADD COLUMN erasure_requested_at timestamptz;
CREATE INDEX order_view_erasure_requested ON order_view (buyer_id)
    WHERE erasure_requested_at IS NOT NULL AND personal_data <> 'erased';
