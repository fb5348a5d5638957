-- A parcel refused at the door goes back to the seller: the order is still to be delivered,
-- and falls overdue past its deadline like one returned to sender. The overdue sweep's work
-- list (services/fulfilment/views.py awaiting_delivery) now counts refused parcels, so its
-- partial index does too.
DROP INDEX shipment_view_awaiting_delivery;
CREATE INDEX shipment_view_awaiting_delivery ON shipment_view (deliver_by)
    WHERE deliver_by IS NOT NULL AND overdue_since IS NULL
      AND (outcome IS NULL OR outcome IN ('absent', 'returned_to_sender', 'refused'));
