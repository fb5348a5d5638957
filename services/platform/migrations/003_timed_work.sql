-- When each periodic task of the service's worker last ran (machine time), for operators and
-- for tests that wait for a pass after they moved the clock. Operational state, not a read
-- model: nothing here comes from the log.
CREATE TABLE timed_work (
    name             text        PRIMARY KEY,
    last_started_at  timestamptz NOT NULL,
    last_finished_at timestamptz NOT NULL,
    last_error       text
);
