-- The deadline an overdue delivery passed, as DeliveryOverdue states it: deliver_by extended by
-- the suspensions declared (force majeure, an announced closure). The operators' list counted
-- the days late from deliver_by. Rows projected before stay NULL (the list falls back to
-- deliver_by) until the read model is rebuilt.
ALTER TABLE shipment_view ADD COLUMN overdue_deadline date;
