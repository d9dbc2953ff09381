-- SMPP sessions bound over every SMPP gateway process (SMPP_API.txt 1.3: the sessions of
-- one login are limited, partners.max_smpp_sessions; a bind beyond it is refused with
-- 0x05). A gateway claims a row at bind (AuthService.ClaimSmppSession), renews its lease
-- while the session lasts and deletes it at unbind or disconnect; a gateway that dies
-- leaves its rows to expire. Only rows with expires_at > now() count; core's maintenance
-- deletes the others. No foreign key to partners: a partner's settings never wait on
-- binds.
CREATE TABLE smpp_sessions (
    session_id text PRIMARY KEY CHECK (length(session_id) BETWEEN 1 AND 200),
    login text NOT NULL,
    gateway_id text NOT NULL CHECK (length(gateway_id) BETWEEN 1 AND 200),
    -- How it is bound; each mode counts as one session.
    mode text NOT NULL CHECK (mode IN ('transmitter', 'receiver', 'transceiver')),
    bound_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX smpp_sessions_login_idx ON smpp_sessions (login, expires_at);
CREATE INDEX smpp_sessions_expires_idx ON smpp_sessions (expires_at);

COMMENT ON COLUMN partners.max_smpp_sessions IS
    'SMPP sessions the login may have bound at once over every SMPP gateway (smpp_sessions); 0 = no limit';
