-- A capture asked of the bank is asked again until the bank answers, even once the order is
-- held (blocked or cancelled) meanwhile: the bank may have made it, its answer lost.
ALTER TABLE payment_view ADD COLUMN capture_asked boolean NOT NULL DEFAULT false;
DROP INDEX payment_view_authorised;
-- the capture pass's work list (its query repeats this predicate, so the planner takes it)
CREATE INDEX payment_view_authorised ON payment_view (updated_at)
    WHERE status = 'authorised' AND (NOT held OR capture_asked);
