-- Settings sync (issue 19): a revision carries what a standby needs to copy it, and a chained
-- checksum that names its history, so that a standby whose history diverged from the master's
-- (an old master's revisions the new one never saw, a standby ahead of its master) is found
-- by comparing checksums, not revision numbers alone (like a PostgreSQL timeline).

-- An import's rows ([[line, start, end, operator, region], …] for a number plan,
-- [[line, number, operator], …] for ported numbers): a revision whose rows are a file's.
ALTER TABLE settings_revisions ADD COLUMN payload jsonb;
-- sha256 over the previous revision's checksum and this revision's content (hex).
ALTER TABLE settings_revisions ADD COLUMN checksum text;

CREATE FUNCTION settings_revision_checksum(prev text, r settings_revisions) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws(E'\x1f', coalesce(prev, ''), r.revision::text,
        r.actor, r.remote_ip, (extract(epoch FROM r.created_at) * 1000000)::bigint::text,
        r.summary, r.changes::text, coalesce(r.payload::text, '')), 'UTF8')), 'hex')
$$;

-- Every writer (commit_revision, a standby's sync, a rewind) gets the same chain: computed
-- here from the row before, never taken from the caller.
CREATE FUNCTION settings_revisions_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prev text;
BEGIN
    SELECT checksum INTO prev FROM settings_revisions WHERE revision < NEW.revision
        ORDER BY revision DESC LIMIT 1;
    NEW.checksum := settings_revision_checksum(prev, NEW);
    RETURN NEW;
END
$$;

DO $$
DECLARE
    r settings_revisions;
    prev text;
BEGIN
    FOR r IN SELECT * FROM settings_revisions ORDER BY revision LOOP
        prev := settings_revision_checksum(prev, r);
        UPDATE settings_revisions SET checksum = prev WHERE revision = r.revision;
    END LOOP;
END
$$;

CREATE TRIGGER settings_revisions_chain BEFORE INSERT ON settings_revisions
    FOR EACH ROW EXECUTE FUNCTION settings_revisions_chain();
