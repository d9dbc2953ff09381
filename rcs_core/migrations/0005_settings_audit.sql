-- Versioned settings (F18): every change is a revision with who, when, from where, and the
-- before/after of each changed row, so any revision can be restored in one step.

CREATE TABLE settings_revisions (
    revision bigint PRIMARY KEY,
    actor text NOT NULL,
    remote_ip text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    summary text NOT NULL,
    -- [{"entity": "partner", "key": "demo", "before": {...} | null, "after": {...} | null}]
    changes jsonb NOT NULL
);

-- Append-only journal of user actions, partitioned by day like the other journals.
CREATE SEQUENCE audit_seq AS bigint CACHE 20;
CREATE TABLE audit_log (
    id bigint NOT NULL DEFAULT nextval('audit_seq'),
    created_at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    remote_ip text NOT NULL DEFAULT '',
    action text NOT NULL,
    target text NOT NULL DEFAULT '',
    revision bigint,
    details jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, created_at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
