-- The final sale (Art. 5, 10): paid, confirmation sent, confirmed.
ALTER TABLE order_view ADD COLUMN paid_at timestamptz;
ALTER TABLE order_view ADD COLUMN confirmation_sent_at timestamptz;
ALTER TABLE order_view ADD COLUMN confirmed_at timestamptz;
-- the mailer's work list: paid orders whose confirmation is not sent yet
CREATE INDEX order_view_confirmation_due ON order_view (paid_at)
    WHERE paid_at IS NOT NULL AND confirmation_sent_at IS NULL;
