-- The day on which the escalation sweep may next record a step for an unpaid refund
-- (services/refunds/next_escalation.py): a pass reads the refunds whose day has come, by an
-- index range scan, instead of every overdue refund. Projected from the refund's events
-- (RefundDue, RefundDeadlineMoved, RefundPenaltyEscalated; RefundIssued clears it). NULL on an
-- unpaid refund: its tier can never change again.
ALTER TABLE refund_view ADD COLUMN next_escalation_on date;

-- Rows projected before this column existed: the earliest day the sweep may look again (the
-- day after the last step, or the first day of delay). Early is safe: a pass that finds nothing
-- due records nothing; the next step recorded projects the exact day, and a rebuild
-- (python -m services.refunds.main rebuild) projects it for every row at once.
UPDATE refund_view SET next_escalation_on = coalesce(last_escalated_on, deadline) + 1
WHERE paid_on IS NULL;

CREATE INDEX refund_view_next_escalation ON refund_view (next_escalation_on)
    WHERE paid_on IS NULL;

-- Provisional figures (a half-year's rate borrowed) are few: the sweep finds those a recorded
-- rate may settle through this index rather than by reading every refund.
CREATE INDEX refund_view_provisional ON refund_view (order_id)
    WHERE missing_half_years <> '{}';
