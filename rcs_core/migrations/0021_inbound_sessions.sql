-- http_mo.rst "Сессии для SMS-сообщений": a subscriber who sends a route's session keyword
-- to its number opens a session there; until it expires (session_seconds after the
-- subscriber's last message) or the close keyword ends it, every message the subscriber
-- sends to the number goes to that route. '' / 0: no sessions.
ALTER TABLE inbound_routes
    ADD COLUMN session_keyword text NOT NULL DEFAULT '',
    ADD COLUMN session_close_keyword text NOT NULL DEFAULT '',
    ADD COLUMN session_seconds integer NOT NULL DEFAULT 0
        CHECK (session_seconds BETWEEN 0 AND 86400),
    ADD COLUMN session_open_text text NOT NULL DEFAULT ''
        CHECK (length(session_open_text) <= 2000),
    ADD COLUMN session_close_text text NOT NULL DEFAULT ''
        CHECK (length(session_close_text) <= 2000),
    ADD COLUMN session_expired_text text NOT NULL DEFAULT ''
        CHECK (length(session_expired_text) <= 2000),
    ADD CONSTRAINT inbound_routes_session_lasts CHECK (session_keyword = '' OR session_seconds > 0);

-- One live session per subscriber and number. No foreign key to the route: a route that is
-- deleted, moved to another number or loses its session keyword leaves its sessions to be
-- ignored by routing and dropped (without a text) by maintenance when they expire, so
-- settings writes never wait on subscribers' traffic.
CREATE TABLE inbound_sessions (
    number text NOT NULL,          -- as routes hold it: no leading '+'
    subscriber text NOT NULL,      -- the MO's source, no leading '+'
    route text NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    -- The subscriber's last message in the session: the expired text's client_ref is made
    -- from it, as every reply's is from its MO.
    last_message_id bigint NOT NULL,
    PRIMARY KEY (number, subscriber)
);
CREATE INDEX inbound_sessions_expires_idx ON inbound_sessions (expires_at);
