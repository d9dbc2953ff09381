-- Failed authentications (F18), counted for every core process at once and kept across
-- restarts (they lived in each core's memory): an address or a login with too many in
-- the window (RCS_AUTH_MAX_FAILURES in RCS_AUTH_FAILURE_WINDOW_SECONDS) is refused for a
-- while, even with the right credentials. Maintenance deletes rows older than the window.
CREATE TABLE auth_failures (
    key text NOT NULL,  -- 'ip:<address>' or 'login:<login>'
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_failures_key_idx ON auth_failures (key, failed_at);
