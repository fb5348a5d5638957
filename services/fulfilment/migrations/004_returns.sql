-- Withdrawn goods coming back.
ALTER TABLE shipment_view ADD COLUMN return_by date;
ALTER TABLE shipment_view ADD COLUMN returned_on date;
ALTER TABLE shipment_view ADD COLUMN return_complete boolean;
ALTER TABLE shipment_view ADD COLUMN return_reason text;
