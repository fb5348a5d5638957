-- A stream may hold only events that give no decision state (a rejected notification naming an
-- order the service does not know): its state is then NULL, as for a stream with no events.
ALTER TABLE streams ALTER COLUMN state DROP NOT NULL;
