-- Stock per SKU: what the warehouse holds and what is set aside for orders (decision data).
CREATE TABLE stock (
    sku      text    PRIMARY KEY,
    on_hand  integer NOT NULL CHECK (on_hand >= 0),
    reserved integer NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand)
);

-- Read model: per order and SKU, reserved or unavailable. Rebuildable from fulfilment.events.
CREATE TABLE reservation_view (
    order_id   text        NOT NULL,
    sku        text        NOT NULL,
    quantity   integer     NOT NULL,
    status     text        NOT NULL CHECK (status IN ('reserved', 'unavailable')),
    available  integer,
    version    integer     NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (order_id, sku)
);

-- The warehouse's demo stock (the orders service's demo catalogue); the Ambré is nearly gone.
INSERT INTO stock (sku, on_hand) VALUES
    ('COTES-ROUSSILLON-ROUGE-2022', 100000),
    ('COTES-ROUSSILLON-BLANC-2024', 100000),
    ('COTES-ROUSSILLON-ROSE-2025', 100000),
    ('VILLAGES-TRADITION-2021', 100000),
    ('MUSCAT-RIVESALTES-2023', 100000),
    ('RIVESALTES-AMBRE-2012', 12),
    ('RIVESALTES-GRENAT-2019', 100000),
    ('IGP-COTES-CATALANES-2024', 0);
