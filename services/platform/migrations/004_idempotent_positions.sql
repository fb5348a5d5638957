-- The position token (X-Position) of an idempotent command's first answer, replayed with it: a
-- client retrying after a lost answer can still read its own writes. NULL: nothing recorded.
ALTER TABLE idempotency_keys ADD COLUMN position text;
