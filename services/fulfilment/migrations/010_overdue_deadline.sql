-- The deadline an overdue delivery passed, as DeliveryOverdue states it: deliver_by extended by
-- the suspensions declared (force majeure, an announced closure). The operators' list counted
-- the days late from deliver_by. Rows projected before get it from their event, as a rebuild
-- would give it.
ALTER TABLE shipment_view ADD COLUMN overdue_deadline date;
UPDATE shipment_view s SET overdue_deadline = (e.envelope->'payload'->>'deadline')::date
FROM events e WHERE e.order_id = s.order_id AND e.type = 'DeliveryOverdue';
