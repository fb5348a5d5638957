-- Buyers' keys (crypto-shredding): personal fields are sealed with them in the log and in the
-- read model. Erasure overwrites the key material with NULL; the row stays as the record of it.
CREATE TABLE personal_keys (
    key_id       text        PRIMARY KEY,
    subject      text        NOT NULL,
    material     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz,
    CHECK ((material IS NULL) = (destroyed_at IS NOT NULL))
);
CREATE UNIQUE INDEX personal_keys_one_live_key ON personal_keys (subject)
    WHERE material IS NOT NULL;

-- The read model keeps personal data sealed and opens it at query time.
ALTER TABLE order_view DROP COLUMN delivery_address;
ALTER TABLE order_view ADD COLUMN personal jsonb NOT NULL;
ALTER TABLE order_view ADD COLUMN personal_data text NOT NULL DEFAULT 'held';
ALTER TABLE order_view ADD COLUMN restricted_until date;
CREATE INDEX order_view_buyer ON order_view (buyer_id);
