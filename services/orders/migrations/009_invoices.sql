-- Invoices and credit notes (French invoicing rules: sequential numbers without gaps).
-- document_numbers is the last number allocated per kind; a number is taken by the transaction
-- that records its document (row lock until commit), so a rolled-back transaction gives it back.
CREATE TABLE document_numbers (
    kind text    PRIMARY KEY,
    last integer NOT NULL
);

-- Read model, rebuildable from orders.events.
CREATE TABLE invoice_view (
    order_id             text        PRIMARY KEY,
    invoice_id           text        NOT NULL UNIQUE,
    number               integer     NOT NULL UNIQUE,
    issued_on            date        NOT NULL,
    total_excl_vat_cents integer     NOT NULL,
    vat_cents            integer     NOT NULL,
    total_incl_vat_cents integer     NOT NULL
);

CREATE TABLE credit_note_view (
    credit_note_id       text        PRIMARY KEY,
    number               integer     NOT NULL UNIQUE,
    order_id             text        NOT NULL,
    invoice_id           text        NOT NULL,
    refund_id            text        NOT NULL,
    issued_on            date        NOT NULL,
    total_incl_vat_cents integer     NOT NULL,
    surcharge_cents      integer     NOT NULL
);
CREATE INDEX credit_note_view_order ON credit_note_view (order_id);
