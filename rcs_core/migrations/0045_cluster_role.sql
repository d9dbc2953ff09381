-- Geo-redundancy (F22): this installation's role in its cluster, written by its cluster agent
-- (rcs_cluster) and read here, so that no settings write needs etcd. A lone installation
-- (no agent) stays 'master', today's behaviour.
CREATE TABLE cluster_role (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    cluster text NOT NULL DEFAULT '',
    role text NOT NULL DEFAULT 'master' CHECK (role IN ('master', 'standby')),
    -- The master as last seen by the agent (NULL: none elected right now), named in refusals.
    master_id integer,
    master_core text NOT NULL DEFAULT '',
    -- Fencing token: the create revision of the etcd master key this installation holds.
    term bigint NOT NULL DEFAULT 0,
    -- A master's writes end here unless its agent renews it: a frozen or cut-off agent
    -- cannot fence itself, so the database does, before the etcd lease can expire.
    -- NULL: no deadline (a lone installation).
    valid_until timestamptz,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO cluster_role DEFAULT VALUES;

-- Every settings writer bumps settings_revision (commit_revision in core, the number-plan
-- import, the seed), so refusing the bump here refuses every settings write on a standby,
-- whatever path it took. The row lock (FOR SHARE) makes a demotion wait for a settings
-- transaction already past this check, so none commits after the agent fenced itself.
-- The settings sync of a standby applies the master's revisions with rcs.settings_sync = on.
CREATE FUNCTION settings_written_on_master_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r cluster_role;
BEGIN
    -- Delivered at commit: wakes the cluster agent, which publishes the new revision at once.
    PERFORM pg_notify('rcs_settings_revision', NEW.revision::text);
    IF current_setting('rcs.settings_sync', true) = 'on' THEN
        RETURN NEW;
    END IF;
    SELECT * INTO r FROM cluster_role FOR SHARE;
    IF r.role = 'master' AND r.valid_until IS NOT NULL AND clock_timestamp() > r.valid_until THEN
        RAISE EXCEPTION USING ERRCODE = 'RC001', MESSAGE = format(
            'this installation''s master term in cluster %L lapsed at %s (its cluster agent'
            ' has not renewed its etcd lease): change settings on the master that'
            ' `rcs cluster status` shows', r.cluster, r.valid_until);
    END IF;
    IF r.role = 'standby' THEN
        IF r.master_id IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'RC001', MESSAGE = format(
                'this installation is a standby of cluster %L and no master is elected right'
                ' now: change settings on the master once `rcs cluster status` shows one',
                r.cluster);
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'RC001', MESSAGE = format(
            'this installation is a standby of cluster %L: change settings on the master,'
            ' installation %s (core %s)', r.cluster, r.master_id, r.master_core);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER settings_revision_master_only BEFORE UPDATE ON settings_revision
    FOR EACH ROW EXECUTE FUNCTION settings_written_on_master_only();
