-- Erasure keeps whom an invoiced order's invoice bills, sealed under the order's own key,
-- until the billing retention ends (BillingDataRetained); the sweep then destroys that key
-- (BillingRetentionEnded). The sweep's work list: the orders whose retention has run out.
ALTER TABLE order_view ADD COLUMN billing_retained jsonb;
ALTER TABLE order_view ADD COLUMN billing_retained_until date;
ALTER TABLE order_view ADD COLUMN billing_retention_ended date;
CREATE INDEX order_view_billing_retained ON order_view (billing_retained_until)
    WHERE billing_retained_until IS NOT NULL AND billing_retention_ended IS NULL;
