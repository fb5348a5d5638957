-- The contract after the sale: shipment, delivery, late delivery, withdrawal.
ALTER TABLE order_view ADD COLUMN shipped_at timestamptz;
ALTER TABLE order_view ADD COLUMN delivered_on date;
ALTER TABLE order_view ADD COLUMN overdue_deadline date;
ALTER TABLE order_view ADD COLUMN perform_by date;
ALTER TABLE order_view ADD COLUMN terminated_on date;
ALTER TABLE order_view ADD COLUMN refund_owed_cents integer;
ALTER TABLE order_view ADD COLUMN withdrawal jsonb;
ALTER TABLE order_view ADD COLUMN proof_of_dispatch_on date;
