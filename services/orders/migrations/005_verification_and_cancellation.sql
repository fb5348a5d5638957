-- Identity verification (the order waits) and cancellation of the whole order.
ALTER TABLE order_view ADD COLUMN verification text NOT NULL DEFAULT 'none';
ALTER TABLE order_view ADD COLUMN cancelled_at timestamptz;
ALTER TABLE order_view ADD COLUMN cancel_reason text;
-- the unpaid-order sweep's work list
CREATE INDEX order_view_unpaid ON order_view (placed_at)
    WHERE status = 'placed' AND paid_at IS NULL;
