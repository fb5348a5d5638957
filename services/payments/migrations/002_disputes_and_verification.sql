-- Buyer standing (Art. 10) and identity verification, as ops record them.
ALTER TABLE payment_view ADD COLUMN dispute_open boolean NOT NULL DEFAULT false;
ALTER TABLE payment_view ADD COLUMN verification text NOT NULL DEFAULT 'none';
