-- Cascades (rest_cascade.rst, http_cascade.rst, the SMPP cascade TLVs): one message that
-- falls back along a chain of channels. Each link is an ordinary message (its own row,
-- status and report); messages.cascade_id names the cascade it belongs to, which is the
-- first link's id and the id the partner was given (Rapporto's mtNum, "the chain's id").
ALTER TABLE messages ADD COLUMN cascade_id bigint;

-- The cascade's state and its timer. A row is due (due_at) when the running link's
-- validity ends, or at once when that link gets a final status (finalize pokes it). The
-- cascade engine claims due rows FOR UPDATE SKIP LOCKED, as the dispatcher claims its
-- queue, so any number of dispatcher processes share the timers and a timer whose
-- process died is simply due again: they survive restarts.
CREATE TABLE cascades (
    id bigint PRIMARY KEY,               -- the first link's message id
    created_at timestamptz NOT NULL DEFAULT now(),
    partner_id bigint NOT NULL,
    links bytea[] NOT NULL,              -- links after the first: serialized rcs.core.v1.CascadeLink
    link_no integer NOT NULL DEFAULT 0,  -- the running link: 0 the first message, n links[n]
    current_id bigint NOT NULL,          -- the running link's message
    current_created timestamptz NOT NULL,
    wait_for smallint,                   -- status it must reach (3 DELIVERED, 7 READ); NULL: last
    deadline timestamptz NOT NULL,       -- the running link's validity end
    due_at timestamptz NOT NULL,
    final_status smallint,               -- the cascade's one final outcome, set once
    final_error integer,
    finished_at timestamptz
);
CREATE INDEX cascades_due_idx ON cascades (due_at) WHERE final_status IS NULL;
CREATE INDEX cascades_finished_idx ON cascades (finished_at) WHERE final_status IS NOT NULL;
