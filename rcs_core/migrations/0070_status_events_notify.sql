-- StreamStatusEvents wakes on a notification instead of polling: one NOTIFY per inserting
-- statement (not per row), folded by PostgreSQL into one per transaction.
CREATE FUNCTION notify_status_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('rcs_status_events', '');
    RETURN NULL;
END $$;

CREATE TRIGGER status_events_notify AFTER INSERT ON status_events
    FOR EACH STATEMENT EXECUTE FUNCTION notify_status_events();
