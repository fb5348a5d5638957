-- Voided refunds are few: the operators' list of money to recover (GET /refunds/overdue,
-- to_recover) finds them through this index rather than by reading every refund.
CREATE INDEX refund_view_voided ON refund_view (refund_id) WHERE voided_on IS NOT NULL;
