-- Documents no query filters or joins on by value: the planner has no use for their statistics,
-- and computing them was most of every ANALYZE of these tables (a stream's state and an event's
-- envelope are detoasted and compared for each of up to 30,000 sampled rows). autovacuum's
-- ANALYZE of streams took 40 ms at 4,000 orders and over 200 ms at 20,000, a burst of one core
-- that the commands of every service then queued behind (docs/decisions/0017); 3 ms without.
ALTER TABLE events ALTER COLUMN envelope SET STATISTICS 0;
ALTER TABLE streams ALTER COLUMN state SET STATISTICS 0;
ALTER TABLE idempotency_keys ALTER COLUMN response SET STATISTICS 0;
