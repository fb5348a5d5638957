-- Money buyers gave back for refunds voided after they were refunded (VoidedRefundRecovered):
-- a voided refund is to recover while what was refunded exceeds what came back.
ALTER TABLE refund_view ADD COLUMN recovered_cents integer NOT NULL DEFAULT 0;
