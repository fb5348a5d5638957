-- Read model: per order, its delivery deadline, shipment and outcome. Rebuildable from
-- fulfilment.events.
CREATE TABLE shipment_view (
    order_id        text        PRIMARY KEY,
    version         integer     NOT NULL,
    confirmed_on    date,
    deliver_by      date,
    held            text,
    carrier         text,
    tracking_number text,
    shipped_at      timestamptz,
    outcome         text,
    outcome_on      date,
    reservations    text,
    collection_point text,
    collect_by      date,
    overdue_since   date,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX shipment_view_awaiting_delivery ON shipment_view (deliver_by)
    WHERE deliver_by IS NOT NULL AND overdue_since IS NULL
      AND (outcome IS NULL OR outcome IN ('absent', 'returned_to_sender'));

-- Periods when delivery deadlines are suspended (force majeure, announced closure).
CREATE TABLE deadline_suspensions (
    event_id  uuid PRIMARY KEY,
    first_day date NOT NULL,
    last_day  date NOT NULL,
    reason    text NOT NULL
);

-- Bottles that left the warehouse with a carrier (derived from the log, like reserved: the
-- warehouse's intake on_hand is not an event). Available = on_hand - reserved - shipped.
ALTER TABLE stock ADD COLUMN shipped integer NOT NULL DEFAULT 0 CHECK (shipped >= 0);
ALTER TABLE reservation_view DROP CONSTRAINT reservation_view_status_check;
ALTER TABLE reservation_view ADD CONSTRAINT reservation_view_status_check
    CHECK (status IN ('reserved', 'unavailable', 'released', 'shipped'));
