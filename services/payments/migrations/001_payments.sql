-- Read model of payments, projected in the command's transaction. Rebuildable from
-- payments.events. Never any card field: the bank's page alone sees the card.
CREATE TABLE payment_view (
    order_id               text        PRIMARY KEY,
    version                integer     NOT NULL,
    buyer_id               text        NOT NULL,
    amount_cents           integer     NOT NULL,
    status                 text        NOT NULL,
    held                   boolean     NOT NULL DEFAULT false,
    payment_id             text,
    authorisation_code     text,
    decline_reason         text,
    captured_cents         integer     NOT NULL DEFAULT 0,
    rejected_notifications integer     NOT NULL DEFAULT 0,
    personal               jsonb       NOT NULL,
    updated_at             timestamptz NOT NULL
);
CREATE INDEX payment_view_buyer ON payment_view (buyer_id);
