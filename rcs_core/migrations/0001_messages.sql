-- Message journal, status history, dispatch queue, idempotency keys, operator ids and
-- receipts waiting for their id. Journal tables are range-partitioned by day; partitions
-- are created ahead and dropped by retention (rcs_core.partitions).

CREATE TABLE installation (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    installation_id integer NOT NULL CHECK (installation_id BETWEEN 0 AND 1023),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Message ids are sequence * 1024 + installation_id: unique across installations,
-- positive, and below 2^63 for 2^53 messages per installation. Each nextval hands a
-- process a block of ID_BLOCK (1000) sequence values (rcs_core.idalloc).
CREATE SEQUENCE message_seq AS bigint START WITH 1000000 INCREMENT BY 1000;
CREATE SEQUENCE status_event_seq AS bigint CACHE 100;

CREATE TABLE partners (
    id bigserial PRIMARY KEY,
    login text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    default_sender text NOT NULL DEFAULT '',
    default_ttl_seconds integer NOT NULL DEFAULT 86400 CHECK (default_ttl_seconds > 0),
    allowed_networks cidr[],
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE messages (
    id bigint NOT NULL,
    created_at timestamptz NOT NULL,
    partner_id bigint NOT NULL,
    client_ref text,
    channel smallint NOT NULL,
    destination text NOT NULL,
    sender text NOT NULL,
    body text NOT NULL,
    priority smallint NOT NULL DEFAULT 0,
    valid_until timestamptz NOT NULL,
    receipt_request smallint NOT NULL,
    status smallint NOT NULL,
    error_code integer NOT NULL DEFAULT 0,
    status_at timestamptz NOT NULL,
    interface_id text,
    part_count integer NOT NULL DEFAULT 0,
    trace_parent text NOT NULL DEFAULT '',
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX messages_partner_idx ON messages (partner_id, id DESC);
-- Messages handed to an operator and still waiting for a receipt, for the expiry sweep.
CREATE INDEX messages_open_idx ON messages (valid_until) WHERE status IN (1, 2);

CREATE TABLE status_events (
    event_id bigint NOT NULL DEFAULT nextval('status_event_seq'),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    message_id bigint NOT NULL,
    partner_id bigint NOT NULL,
    status smallint NOT NULL,
    error_code integer NOT NULL DEFAULT 0,
    detail text NOT NULL DEFAULT '',
    PRIMARY KEY (event_id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX status_events_message_idx ON status_events (message_id);

-- A partner's own id (Rapporto's "id") maps to the first platform id it was given.
CREATE TABLE client_refs (
    partner_id bigint NOT NULL,
    client_ref text NOT NULL,
    message_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, client_ref)
);

-- gRPC mutations' request_id → the first serialized response.
CREATE TABLE request_log (
    request_id text PRIMARY KEY,
    method text NOT NULL,
    response bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dispatch_queue (
    message_id bigint PRIMARY KEY,
    created_at timestamptz NOT NULL,
    priority smallint NOT NULL,
    not_before timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    last_error text NOT NULL DEFAULT ''
);
CREATE INDEX dispatch_queue_order_idx ON dispatch_queue (priority DESC, not_before, message_id);

-- One row per SMS part handed to an operator; keys are normalised operator ids
-- (rcs_smpp.ids): operator_key as the operator answered, alt_key its hex/decimal twin.
CREATE TABLE operator_ids (
    interface_id text NOT NULL,
    operator_key text NOT NULL,
    alt_key text,
    message_id bigint NOT NULL,
    part_no integer NOT NULL,
    status smallint NOT NULL DEFAULT 2,
    error_code integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (created_at);
CREATE INDEX operator_ids_key_idx ON operator_ids (interface_id, operator_key);
CREATE INDEX operator_ids_alt_idx ON operator_ids (interface_id, alt_key) WHERE alt_key IS NOT NULL;
CREATE INDEX operator_ids_message_idx ON operator_ids (message_id);

-- Receipts that arrived before the submit_sm_resp carrying their id was recorded.
CREATE TABLE pending_receipts (
    id bigserial PRIMARY KEY,
    interface_id text NOT NULL,
    operator_keys text[] NOT NULL,
    status smallint NOT NULL,
    error_code integer NOT NULL DEFAULT 0,
    operator_state text NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_receipts_keys_idx ON pending_receipts USING gin (operator_keys);
