-- Messages subscribers send (MO) and the routes that give them to partners (SPEC F8,
-- issue 4): a route owns a number (short number or service name) and optionally a keyword;
-- the partner hears of each message in the route's format (report_outbox, kind 2).

CREATE TABLE inbound_routes (
    name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
    number text NOT NULL CHECK (length(number) BETWEEN 1 AND 21),
    -- A regular expression (Python syntax, case-insensitive) the text must start with;
    -- '' takes every message to the number that no keyword route took.
    keyword text NOT NULL DEFAULT '',
    partner text NOT NULL REFERENCES partners (login) ON UPDATE CASCADE,
    -- rcs.core.v1.ReportFormat: 1 SMPP deliver_sm, 2 HTTP v5 GET, 3 REST v6 JSON.
    format smallint NOT NULL CHECK (format IN (1, 2, 3)),
    UNIQUE (number, keyword)
);

-- One row per received MO message, whole; kept for the retention period.
CREATE TABLE inbound_messages (
    id bigint PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    interface_id text NOT NULL,
    source text NOT NULL,
    destination text NOT NULL,
    body text NOT NULL,
    part_count integer NOT NULL,
    partner_id bigint,            -- NULL: no route matched
    route text
);
CREATE INDEX inbound_messages_received_idx ON inbound_messages (received_at);

-- Parts of concatenated MO messages waiting for their siblings. Stored before the
-- operator's deliver_sm is acknowledged, so a restart loses no part.
CREATE TABLE inbound_parts (
    interface_id text NOT NULL,
    source text NOT NULL,
    destination text NOT NULL,
    reference integer NOT NULL,
    part_total integer NOT NULL,
    part_number integer NOT NULL,
    data_coding smallint NOT NULL,
    payload bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (interface_id, source, destination, reference, part_total, part_number)
);
