-- A parcel the carrier returned to the seller, once the contract ended (ParcelRestocked): its
-- bottles are in stock again and its reservation rows say so.
ALTER TABLE reservation_view DROP CONSTRAINT reservation_view_status_check;
ALTER TABLE reservation_view ADD CONSTRAINT reservation_view_status_check
    CHECK (status IN ('reserved', 'unavailable', 'released', 'shipped', 'restocked'));
