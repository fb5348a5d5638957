-- A cancelled order's reservation is released: its rows stay, marked released.
ALTER TABLE reservation_view DROP CONSTRAINT reservation_view_status_check;
ALTER TABLE reservation_view ADD CONSTRAINT reservation_view_status_check
    CHECK (status IN ('reserved', 'unavailable', 'released'));
