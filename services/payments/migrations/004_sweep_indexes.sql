-- The capture pass's work list reads an index, not the whole read model (a sequential scan
-- twice a second whose cost grew with every payment ever recorded: make bench,
-- pg_stat_statements).
CREATE INDEX payment_view_authorised ON payment_view (updated_at)
    WHERE status = 'authorised' AND NOT held;
