-- Parts of messages partners split themselves (SMPP UDH / SAR). The first part reserves
-- the message id; the message is accepted when the last part arrives, or rejected when
-- its parts stop coming (rcs_core/storage/parts.py), so every id handed out reaches a
-- final status.

CREATE TABLE pending_submissions (
    partner_id bigint NOT NULL,
    source text NOT NULL,
    destination text NOT NULL,
    reference integer NOT NULL,
    part_total integer NOT NULL CHECK (part_total BETWEEN 2 AND 255),
    message_id bigint NOT NULL UNIQUE,
    submission bytea NOT NULL,        -- rcs.core.v1.MessageSubmission of the first part
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, source, destination, reference, part_total)
);
CREATE INDEX pending_submissions_age_idx ON pending_submissions (created_at);

CREATE TABLE submit_parts (
    message_id bigint NOT NULL,
    part_number integer NOT NULL,
    data_coding smallint NOT NULL,
    payload bytea NOT NULL,
    PRIMARY KEY (message_id, part_number)
);
