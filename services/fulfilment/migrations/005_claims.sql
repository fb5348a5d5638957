-- Read model: the buyer's claims about deliveries and the shop's answers.
CREATE TABLE claim_view (
    order_id           text        NOT NULL,
    kind               text        NOT NULL,
    claimed_on         date        NOT NULL,
    window_ends        date        NOT NULL,
    detail             text        NOT NULL,
    exchange_reference text,
    answer             text,
    answered_at        timestamptz,
    PRIMARY KEY (order_id, kind)
);
CREATE INDEX claim_view_waiting ON claim_view (claimed_on) WHERE answered_at IS NULL;
