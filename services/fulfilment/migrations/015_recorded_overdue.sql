-- The overdue sweep asks again about the deliveries recorded overdue once a suspension is
-- declared (force majeure declared after the fact may undo them): their work list, by index.
CREATE INDEX shipment_view_recorded_overdue ON shipment_view (overdue_since, order_id)
    WHERE overdue_since IS NOT NULL AND (held IS NULL OR held = 'blocked')
      AND (outcome IS NULL OR outcome IN ('absent', 'returned_to_sender', 'refused'));
