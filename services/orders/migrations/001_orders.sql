-- Catalogue prices with the date they take effect: an order captures the price in force.
CREATE TABLE catalogue_prices (
    sku         text        NOT NULL,
    name        text        NOT NULL,
    price_cents integer     NOT NULL CHECK (price_cents >= 0),
    valid_from  timestamptz NOT NULL,
    PRIMARY KEY (sku, valid_from)
);

CREATE TABLE delivery_methods (
    code         text    PRIMARY KEY,
    label        text    NOT NULL,
    charge_cents integer NOT NULL CHECK (charge_cents >= 0)
);

-- Versions of the general terms of sale; the latest published is the one buyers accept.
CREATE TABLE terms_versions (
    version      text        PRIMARY KEY,
    sha256       text        NOT NULL,
    published_at timestamptz NOT NULL
);

-- Read model of orders, projected in the command's transaction.
CREATE TABLE order_view (
    order_id              text        PRIMARY KEY,
    version               integer     NOT NULL,
    buyer_id              text        NOT NULL,
    status                text        NOT NULL,
    blocked               boolean     NOT NULL DEFAULT false,
    block_reason          text,
    lines                 jsonb       NOT NULL,
    delivery_address      jsonb       NOT NULL,
    delivery_method       text        NOT NULL,
    delivery_charge_cents integer     NOT NULL,
    products_total_cents  integer     NOT NULL,
    total_cents           integer     NOT NULL,
    terms_version         text        NOT NULL,
    placed_at             timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
