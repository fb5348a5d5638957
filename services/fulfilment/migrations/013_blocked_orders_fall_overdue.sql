-- A block is the seller's: it does not stop the delivery deadline (only force majeure or an
-- announced closure suspend it, Art. 11, 17), so a blocked order falls overdue like any other
-- and stays on the operators' list; only a cancelled or terminated order leaves it for good.
-- The overdue sweep's work list takes blocked orders back (009 had left them out).
DROP INDEX shipment_view_awaiting_delivery;
CREATE INDEX shipment_view_awaiting_delivery ON shipment_view (deliver_by)
    WHERE deliver_by IS NOT NULL AND overdue_since IS NULL
      AND (held IS NULL OR held = 'blocked') AND NOT address_to_correct
      AND (outcome IS NULL OR outcome IN ('absent', 'returned_to_sender', 'refused'));
