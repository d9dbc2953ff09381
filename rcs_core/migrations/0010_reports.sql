-- Status reports and inbound messages owed to partners (issue 4): a message records how
-- its partner hears about it; every report is stored in report_outbox in the same
-- transaction as the status it reports, and stays there until the partner took it
-- (deliver_sm_resp, a 2xx answer) or it grew too old.

ALTER TABLE messages
    ADD COLUMN ptag text,
    -- rcs.core.v1.ReportFormat: 0 pull only, 1 SMPP deliver_sm, 2 HTTP v5 GET,
    -- 3 REST v6 JSON, 4 REST_BATCH v3 JSON.
    ADD COLUMN report_format smallint NOT NULL DEFAULT 0,
    -- Per-message URL (REST notifyUrl, REST_BATCH callbackUrl); NULL: the partner's.
    ADD COLUMN report_url text,
    ADD COLUMN send_after timestamptz;

ALTER TABLE partners
    -- Where HTTP status reports go when a message names no URL ("настройки интеграции").
    ADD COLUMN report_url text NOT NULL DEFAULT '',
    -- Where inbound (MO) messages go over HTTP; empty: SMPP receivers only.
    ADD COLUMN inbound_url text NOT NULL DEFAULT '';

CREATE TABLE report_outbox (
    id bigserial PRIMARY KEY,
    partner_id bigint NOT NULL,
    format smallint NOT NULL,
    kind smallint NOT NULL,           -- rcs.core.v1.ReportKind: 1 status, 2 inbound
    url text NOT NULL DEFAULT '',     -- HTTP formats: resolved when the report was made
    message_id bigint NOT NULL,
    body jsonb NOT NULL,              -- what the report says, format-neutral
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text NOT NULL DEFAULT ''
);
-- Due reports of one login and format (SMPP leases), and of one format (HTTP senders).
CREATE INDEX report_outbox_due_idx ON report_outbox (format, partner_id, next_attempt_at);
CREATE INDEX report_outbox_format_due_idx ON report_outbox (format, next_attempt_at);
