-- What the bank refunded for each paid refund (its payout, then any balance paid since), so
-- that a correction of a paid figure shows as a balance owed: paid_total_cents (the figure as
-- corrected) less refunded_cents. Projected from RefundIssued and RefundBalanceIssued.
ALTER TABLE refund_view ADD COLUMN refunded_cents integer NOT NULL DEFAULT 0;

-- Rows paid before this column existed: as paid, no balance (the decision state kept before
-- it reads the same way). A rebuild (python -m services.refunds.main rebuild) projects the
-- exact figure from the log.
UPDATE refund_view SET refunded_cents = paid_total_cents WHERE paid_on IS NOT NULL;

-- Balances owed are few: the operators' list finds them through this index.
CREATE INDEX refund_view_balance ON refund_view (refund_id)
    WHERE paid_total_cents > refunded_cents;
