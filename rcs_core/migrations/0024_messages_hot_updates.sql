-- A message's status changes twice (SENT, then final) and no index may depend on what
-- those updates write, so that PostgreSQL can make them HOT (no new entry in any index),
-- given room in the page: day partitions of messages keep 30% of each page free
-- (rcs_core/partitions.py creates new ones so).
--
-- messages_open_idx had status in its predicate, which made every status update write all
-- four indexes. Maintenance's sweep of SENT messages whose validity ended now walks
-- valid_until from where its last sweep stopped (maintenance_marks).
DROP INDEX messages_open_idx;
CREATE INDEX messages_valid_until_idx ON messages (valid_until);

CREATE TABLE maintenance_marks (
    name text PRIMARY KEY,
    at timestamptz NOT NULL
);
-- The old sweep took care of everything older than the longest validity (3 days).
INSERT INTO maintenance_marks (name, at) VALUES ('expired_until', now() - interval '4 days');

DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'messages'::regclass
    LOOP
        EXECUTE format('ALTER TABLE %s SET (fillfactor = 70)', part);
    END LOOP;
END
$$;
