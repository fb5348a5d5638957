-- An order held (blocked, cancelled, terminated) is never overdue: the sweep decides nothing
-- for it, so it must not be on the sweep's work list either. It was, and as the list is read
-- oldest deadline first, 500 at a time, 500 held orders with passed deadlines kept every
-- newer order from ever being marked overdue. A blocked order released returns to the list.
DROP INDEX shipment_view_awaiting_delivery;
CREATE INDEX shipment_view_awaiting_delivery ON shipment_view (deliver_by)
    WHERE deliver_by IS NOT NULL AND overdue_since IS NULL AND held IS NULL
      AND (outcome IS NULL OR outcome IN ('absent', 'returned_to_sender', 'refused'));
