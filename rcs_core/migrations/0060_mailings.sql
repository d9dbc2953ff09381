-- Mailings (issue 18): a partner's bulk send, fed into the ordinary pipeline by core at
-- the mailing's rate. Progress is rows: `fed` is how many recipients (in seq order) are
-- messages already, written in the transaction that accepts them, so a restart resumes
-- exactly where it stopped and never feeds a recipient twice.
CREATE TABLE mailings (
    id bigserial PRIMARY KEY,
    partner_id bigint NOT NULL REFERENCES partners (id),
    name text NOT NULL,
    source_key text,
    sender text NOT NULL,
    text text NOT NULL DEFAULT '',
    state smallint NOT NULL,
    auto_start boolean NOT NULL,
    start_at timestamptz,
    end_at timestamptz,
    window_begin smallint,
    window_end smallint,
    window_subscriber_zone boolean NOT NULL DEFAULT false,
    priority smallint NOT NULL DEFAULT 0,
    rate_per_second integer NOT NULL CHECK (rate_per_second > 0),
    total integer NOT NULL DEFAULT 0,
    fed integer NOT NULL DEFAULT 0,
    -- The rate as a leaky bucket over every core process: feeding n messages moves it
    -- n / rate seconds ahead; at most a second's worth is owed at once.
    credit_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz
);
CREATE UNIQUE INDEX mailings_name_idx ON mailings (partner_id, name);
CREATE UNIQUE INDEX mailings_source_idx ON mailings (partner_id, source_key)
    WHERE source_key IS NOT NULL;
-- The feeder's scan: mailings that may have something to feed.
CREATE INDEX mailings_active_idx ON mailings (id) WHERE state IN (2, 3);

-- No foreign key to mailings: its check per row was two thirds of a million-line load,
-- and mailings are never deleted (their rows are written only beside their mailing's).
CREATE TABLE mailing_recipients (
    mailing_id bigint NOT NULL,
    seq integer NOT NULL,
    line bigint NOT NULL,
    destination text NOT NULL,
    text text NOT NULL DEFAULT '',
    external_id text,
    params text[],
    message_id bigint,
    message_at timestamptz,
    PRIMARY KEY (mailing_id, seq)
);

-- Lines not loaded, kept so that a repeated CreateMailing (a file scanned twice) answers
-- exactly as the first did.
CREATE TABLE mailing_refusals (
    mailing_id bigint NOT NULL,
    line bigint NOT NULL,
    destination text NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (mailing_id, line)
);
