-- Wakes a worker's timed work when an event that makes it due is appended (see
-- services/platform/wakeups.py): each service's migrations attach it to ``events`` with the
-- event types and the work's name (its argument). NOTIFY is delivered at commit, once per
-- transaction and work however many events matched; the work's interval still runs it if no
-- worker was listening.
CREATE FUNCTION wake_timed_work() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('work_due', TG_ARGV[0]);
    RETURN NULL;
END
$$;
