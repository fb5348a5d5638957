-- An order blocked for anything but non-payment cannot be paid, so it is not cancelled as
-- unpaid; once unblocked, the buyer has the whole time to pay again, counted from then.
-- payable_since: placed_at, then the moment of the last unblocking (OrderUnblocked.unblocked_at).
ALTER TABLE order_view ADD COLUMN payable_since timestamptz;
UPDATE order_view SET payable_since = placed_at;
DROP INDEX order_view_unpaid;
-- the unpaid-order sweep's work list (its query repeats this predicate, so the planner takes it)
CREATE INDEX order_view_unpaid ON order_view (payable_since)
    WHERE status = 'placed' AND paid_at IS NULL
      AND (NOT blocked OR block_reason = 'non_payment');

-- What the buyer paid (the confirmation's "total paid"): the placed total less the lines
-- cancelled before the payment, which the payments service no longer asks for.
ALTER TABLE order_view ADD COLUMN paid_cents integer;
UPDATE order_view SET paid_cents = total_cents WHERE paid_at IS NOT NULL;
