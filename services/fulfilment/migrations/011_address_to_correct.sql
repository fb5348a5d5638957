-- A parcel back with the seller for an incorrect or incomplete address ships again once the
-- buyer has given the address again (DeliveryAddressCorrected), and is never overdue meanwhile:
-- it leaves the overdue sweep's work list (as held orders did in 009) until then; the delivery
-- is then due 5 working days after the correction (deliver_by, deadline_restarted_on).
ALTER TABLE shipment_view ADD COLUMN address_to_correct boolean NOT NULL DEFAULT false;
ALTER TABLE shipment_view ADD COLUMN deadline_restarted_on date;
-- parcels back before this existed: outcome returned_to_sender until a parcel ships again
UPDATE shipment_view SET address_to_correct = true WHERE outcome = 'returned_to_sender';
DROP INDEX shipment_view_awaiting_delivery;
CREATE INDEX shipment_view_awaiting_delivery ON shipment_view (deliver_by)
    WHERE deliver_by IS NOT NULL AND overdue_since IS NULL AND held IS NULL
      AND NOT address_to_correct
      AND (outcome IS NULL OR outcome IN ('absent', 'returned_to_sender', 'refused'));
